#!/bin/sh
# ensure_venv.sh VENV PYTHON — make sure VENV is a virtual environment on Python 3.11 or newer.
#
# Called by the Makefile before any install. A venv left by an earlier failed try on an older
# Python is made anew (a bare existence check would make every later run fail the same way).
# It only ever removes a folder that is a virtual environment (it holds pyvenv.cfg).
set -eu
venv=$1
python=$2
need=3.11

version_of() {  # "3.11.7", or nothing when $1 is not a working Python
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true
}
new_enough() {  # is version $1 at least $need?
    [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$need" "$1" | sort -t. -k1,1n -k2,2n | head -n1)" = "$need" ]
}

if [ -x "$venv/bin/python" ]; then
    have=$(version_of "$venv/bin/python")
    if new_enough "$have"; then
        exit 0
    fi
    if [ ! -f "$venv/pyvenv.cfg" ]; then
        echo "kpi: $venv is not a virtual environment (no pyvenv.cfg); move it away and run make again" >&2
        exit 2
    fi
    echo "kpi: $venv runs Python ${have:-that does not start}; $need or newer is needed: making it anew" >&2
    rm -rf "$venv"
elif [ -e "$venv" ]; then
    if [ ! -f "$venv/pyvenv.cfg" ]; then
        echo "kpi: $venv exists but is not a virtual environment; move it away and run make again" >&2
        exit 2
    fi
    echo "kpi: $venv is incomplete (no bin/python): making it anew" >&2
    rm -rf "$venv"
fi

have=$(version_of "$python")
if [ -z "$have" ]; then
    echo "kpi: '$python' was not found. Install Python $need or newer (Debian/Ubuntu:" \
        "apt-get install python3 python3-venv) or name one: make PYTHON=/path/to/python3.12 ..." >&2
    exit 2
fi
if ! new_enough "$have"; then
    echo "kpi: '$python' is Python $have; kpi needs $need or newer. Install a newer Python" \
        "(Debian/Ubuntu: apt-get install python3.11 python3.11-venv) and name it:" \
        "make PYTHON=python3.11 ..." >&2
    exit 2
fi
echo "kpi: creating $venv with Python $have" >&2
if ! "$python" -m venv "$venv"; then
    rm -rf "$venv"
    echo "kpi: '$python -m venv' failed: the venv module is missing (Debian/Ubuntu:" \
        "apt-get install python3-venv, or python3.X-venv for your version)" >&2
    exit 2
fi
