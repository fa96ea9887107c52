"""The data handle: one data folder opened once per run, its public tables read once and handed
to the report's kernels inside the pickled context."""

import gzip
import json
import pickle
import shutil

import pytest

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.errors import ArgumentError, InputError, KpiError
from kpi_lib.core.paths import DATA_DIR, DEFAULT_CATALOG, PROJECT_ROOT
from kpi_lib.evaluation.outlook import backtest_record
from kpi_lib.observations import handle as handle_mod
from kpi_lib.observations.handle import DataHandle, PublicTables
from kpi_lib.reporting import analysis, batch
from kpi_lib.reporting.context import load_context, save_context
from kpi_lib.reporting.tables import freshness_table
from kpi_lib.sources.ingest import TABLE_NAMES


def test_a_handle_reads_each_public_table_once():
    data = DataHandle.open()
    read = data.tables.reads
    assert read == len({s.dataset for k in data.catalog.kpis for s in k.public_series})
    assert data.municipality_code == data.catalog.strategy.municipality_code == "012165"
    data.tables.table("jumin"), data.tables.annual("jumin"), data.tables.table("jumin")
    assert data.tables.reads == read  # held on the handle
    assert data.tables.annual("tourism")["month"].isna().all()


def test_a_handle_on_a_bad_folder_names_the_file(tmp_path):
    with pytest.raises(InputError, match=rf"{tmp_path / 'public'}: no public/ folder"):
        DataHandle.open(tmp_path)
    public = tmp_path / "public"
    public.mkdir()
    with pytest.raises(InputError, match=r"jumin\.csv\.gz: bundled data not found"):
        DataHandle.open(tmp_path)
    for f in (DATA_DIR / "public").glob("*.csv.gz"):
        shutil.copy(f, public / f.name)
    (public / "tourism.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(KpiError, match=r"tourism\.csv\.gz: bundled data is damaged"):
        DataHandle.open(tmp_path)


def test_a_handle_refuses_another_municipality_than_the_catalogs():
    with pytest.raises(ArgumentError, match="disagrees with the catalog"):
        DataHandle.open(municipality="012092")
    assert DataHandle.open(municipality="012165").municipality_code == "012165"


def test_the_kernels_context_holds_the_tables_and_reads_none_from_disk(tmp_path, monkeypatch):
    ctx = load_context(2021)
    path = tmp_path / "context.pkl"
    save_context(ctx, path, str(DEFAULT_CATALOG), str(DATA_DIR))

    def no_disk(name, folder=None):
        raise AssertionError(f"a kernel read {name} from disk")

    monkeypatch.setattr(handle_mod, "read_public", no_disk)
    kernel = load_context(2021, str(DEFAULT_CATALOG), str(DATA_DIR), cache=str(path))
    assert kernel is not ctx and kernel.municipality_code == "012165"
    t, code = kernel.tables, kernel.municipality_code
    # every analysis the notebooks draw, and the deep dive's backtest, from the pickled tables
    assert analysis.municipality_name(t, code) == "芦別市"
    assert not analysis.migration(t, code).empty and not analysis.ssds_migration(t, code).empty
    assert code in analysis.net_migration_ranking(t, 2021).index
    assert not analysis.peers(t, code).empty
    assert (
        not analysis.tourism_monthly(t, code).empty and not analysis.tourism_annual(t, code).empty
    )
    assert not analysis.tourism_peers(t, code).empty
    assert not analysis.furusato(t, code).empty and not analysis.furusato_context(t, code).empty
    assert not analysis.furusato_costs(t, code).empty
    assert not analysis.furusato_cost_context(t, code).empty
    assert not freshness_table(kernel).empty
    kpi = kernel.kpi_for("furusato", "受入件数")
    assert not backtest_record(kpi, kernel.history(kpi.kpi_id), 2021, data=kernel.data).empty


def test_the_notebooks_take_the_municipality_from_the_context():
    for path in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        params = next(
            "".join(c["source"]) for c in cells if "parameters" in c["metadata"].get("tags", [])
        )
        assert "municipality_code" not in params, path.name
        assert not any("data_dir or None" in c for c in code), path.name  # no folder read


def test_catalog_dir_loads_each_catalog_once(tmp_path, monkeypatch):
    folder = tmp_path / "catalogs"
    folder.mkdir()
    for name in ("a", "b"):
        shutil.copy(DEFAULT_CATALOG, folder / f"{name}.yaml")
    loads, given = [], []

    def counted(path=None):
        loads.append(path)
        return load_catalog(path)

    def fake_run(settings, catalog=None):
        given.append((settings.catalog, catalog))
        raise batch.ReportFailed("not built here")

    monkeypatch.setattr(batch, "load_catalog", counted)
    monkeypatch.setattr(batch, "run_report", fake_run)
    with pytest.raises(batch.ReportFailed, match="2 of 2"):
        batch.run_batch(2024, folder, tmp_path / "out")
    assert sorted(p.name for p in loads) == ["a.yaml", "b.yaml"]
    assert all(catalog is not None for _, catalog in given)  # the loaded one, not loaded again
    assert [p.name for p, _ in given] == ["a.yaml", "b.yaml"]


def test_a_pickled_handle_keeps_its_tables():
    data = DataHandle.open()
    data.tables.read_all()
    again = pickle.loads(pickle.dumps(data))
    assert (
        again.tables.reads == data.tables.reads == len(list((DATA_DIR / "public").glob("*.csv.gz")))
    )
    assert again.tables.table("regions").equals(data.tables.table("regions"))


def test_a_pickled_handle_unpacks_each_table_when_first_asked_for(tmp_path):
    """A report's kernel unpacks only the tables its notebook reads, and reads none from disk."""
    data = DataHandle.open()
    data.tables.read_all()
    annual = data.tables.annual("jumin")
    again = pickle.loads(pickle.dumps(data))
    again.tables.folder = tmp_path / "gone"  # a read from disk would fail
    assert again.tables._tables == {} and again.tables.has("tourism")
    assert again.tables.table("ssds").equals(data.tables.table("ssds"))
    assert list(again.tables._tables) == ["ssds"]
    assert again.tables.annual("jumin").equals(annual)  # the memo's, not made again
    assert "jumin" not in again.tables._tables
    twice = pickle.loads(pickle.dumps(again))  # packed and unpacked tables both survive
    for name in TABLE_NAMES:
        if data.tables.has(name):
            assert twice.tables.table(name).equals(data.tables.table(name)), name
    assert twice.tables.reads == data.tables.reads


def test_kpi_status_refuses_another_municipality_than_the_catalogs(capsys):
    from kpi_lib.cli import main

    assert main(["status", "--fiscal-year", "2024", "--municipality", "012092"]) == 2
    assert "disagrees with the catalog" in capsys.readouterr().err


def test_the_kernels_tables_are_the_ingested_ones_and_a_stray_file_is_left_alone(tmp_path):
    """What `kpi report` hands its kernels: the tables `kpi ingest` writes. A backup or an empty
    file beside them is not read (it used to abort the report with a traceback); an empty
    table of ours is refused naming it."""
    public = tmp_path / "public"
    shutil.copytree(DATA_DIR / "public", public)
    with gzip.open(public / "stray.csv.gz", "wb"):
        pass  # an empty gzip
    tables = PublicTables(public).read_all()
    assert tables.reads == sum((public / f"{n}.csv.gz").exists() for n in TABLE_NAMES)
    with gzip.open(public / "regions.csv.gz", "wb"):
        pass  # one of ours, emptied
    with pytest.raises(InputError, match=r"regions\.csv\.gz: bundled data is damaged"):
        PublicTables(public).table("regions")


def test_two_towns_sharing_tables_get_their_own_peers():
    """The peers of a town leave that town out: a memo on shared tables is kept per town."""
    data = DataHandle.open()
    strategy = data.catalog.strategy.model_copy(update={"municipality_code": "012092"})
    catalog = data.catalog.model_copy(update={"strategy": strategy})
    other = DataHandle(data.folder, catalog, data.tables, data.returned)
    assert data.memo(("k",), lambda: "芦別") == "芦別"
    assert other.memo(("k",), lambda: "滝川") == "滝川"


def test_an_old_notebooks_municipality_argument_is_explained():
    """A custom notebook still calling load_context(fiscal_year, 団体コード, catalog, data) is told
    what changed, not "file not found" for a catalog named 012165."""
    with pytest.raises(ArgumentError, match="takes no municipality code any more"):
        load_context(2024, "012165", str(DEFAULT_CATALOG))
