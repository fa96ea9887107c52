"""`kpi report`: the annual 効果検証 report, built from the notebooks with papermill.

The report appears whole or not at all: everything is built in a staging folder beside the
target and moved into place at the end. If a notebook fails, the command names the notebook
and the cell, keeps the executed notebooks in `<target>.failed/` for debugging, leaves any
previous report untouched, and exits with status 1.
"""

from __future__ import annotations

import html
import json
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .errors import KpiError
from .notation import to_era
from .output import progress, sha256, swap_in
from .paths import ASHIBETSU, DATA_DIR, DEFAULT_CATALOG, PROJECT_ROOT

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
KERNEL = "kpi"
TITLES = {
    "01_scorecard": "効果検証スコアカード",
    "02_migration": "人口移動（社会増減）と出生",
    "03_tourism": "観光入込客数",
    "04_furusato": "ふるさと納税の推移",
    "05_kpi_deep_dive": "KPI 詳細",
}
PACKAGES = ["kpi-lib", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "matplotlib-fontja",
            "papermill", "nbconvert", "ipykernel", "openpyxl", "pydantic", "pandera"]


class ReportFailed(KpiError):
    """A notebook failed; the message names it and the cell."""


@dataclass
class Job:
    notebook: Path
    output_name: str
    parameters: dict
    title: str
    seconds: float = 0.0
    status: str = "pending"
    error: str | None = None
    extra: dict = field(default_factory=dict)


def ensure_kernel(name: str = KERNEL) -> str:
    """The named Jupyter kernel, installed for this interpreter if it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name=f"{name} (効果検証)", prefix=sys.prefix)
        progress("report", f"installed the Jupyter kernel {name!r} for {sys.executable}")
    return name


def plan_jobs(fiscal_year: int, municipality_code: str, catalog_path: str, data_dir: str, notebooks: Path,
              deep_dive: list[str], figures: Path, context_file: str = "") -> list[Job]:
    base = {"fiscal_year": fiscal_year, "municipality_code": municipality_code, "catalog_path": catalog_path,
            "data_dir": data_dir, "context_file": context_file}
    jobs = []
    for nb in sorted(notebooks.glob("*.ipynb")):
        stem = nb.stem
        title = TITLES.get(stem, stem)
        if "deep_dive" in stem:
            for kpi_id in deep_dive:
                jobs.append(Job(nb, f"{stem}_{kpi_id}.ipynb", {**base, "kpi_id": kpi_id,
                                "output_dir": str(figures)}, f"{title}: {kpi_id}"))
        else:
            jobs.append(Job(nb, nb.name, {**base, "output_dir": str(figures)}, title))
    if not jobs:
        raise KpiError(f"{notebooks}: no notebooks (*.ipynb) to run")
    return jobs


def _run(job: Job, staging: Path, kernel: str) -> Job:
    import papermill as pm

    start = time.perf_counter()
    try:
        pm.execute_notebook(str(job.notebook), str(staging / job.output_name), parameters=job.parameters,
                            kernel_name=kernel, cwd=str(job.notebook.parent), progress_bar=False,
                            log_output=False, report_mode=False)
        # Exported here, while the other job's kernel is still working.
        _html(staging / job.output_name, staging / Path(job.output_name).with_suffix(".html").name)
        job.status = "ok"
    except pm.PapermillExecutionError as exc:
        job.status = "failed"
        job.error = f"cell {exc.exec_count} (execution count): {exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, notebook unreadable
        job.status = "failed"
        job.error = f"{type(exc).__name__}: {exc}"
    job.seconds = time.perf_counter() - start
    return job


def _html(executed: Path, out: Path) -> None:
    """The executed notebook as HTML for readers: outputs only, no code cells."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    out.write_text(body, encoding="utf-8")


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def _inputs(catalog_path: Path, data_dir: Path, notebooks: Path, actuals: list[Path]) -> list[dict]:
    files = [catalog_path, *sorted((data_dir / "public").glob("*")), *actuals, *sorted(notebooks.glob("*.ipynb"))]
    forecast_cfg = data_dir / "forecast.yaml"
    if forecast_cfg.exists():
        files.append(forecast_cfg)
    return [{"path": str(p), "sha256": sha256(p), "bytes": p.stat().st_size} for p in files if p.is_file()]


def _data_as_of(observations) -> list[dict]:
    """Per source: the newest date its figures refer to, and the years used."""
    used = observations[observations["provenance"] != "strategy"]
    rows = []
    for source, g in used.groupby("source"):
        rows.append({"source": source, "licence": " / ".join(sorted(set(g["licence"].dropna()) - {""})),
                     "as_of": str(g["as_of"].dropna().max()) if g["as_of"].notna().any() else "",
                     "years": f"{int(g['year'].min())}–{int(g['year'].max())}",
                     "year_basis": " / ".join(sorted({"fiscal": "年度", "calendar": "暦年"}.get(b, b) for b in set(g["year_basis"])))})
    return rows


def _index_html(fiscal_year: int, catalog, jobs: list[Job], sources: list[dict], municipality: str,
                warning: str = "", fresh=None, verdicts: dict | None = None) -> str:
    e = html.escape
    links = "\n".join(
        f'<li><a href="{e(Path(j.output_name).with_suffix(".html").name)}">{e(j.title)}</a> '
        f'（<a href="{e(j.output_name)}">ノートブック</a>）</li>' for j in jobs)
    src = "\n".join(
        f"<tr><td>{e(s['source'])}</td><td>{e(s['years'])}（{e(s['year_basis'])}）</td><td>{e(s['as_of'])}</td>"
        f"<td>{e(s['licence'])}</td></tr>" for s in sources)
    notice = f'<p class="notice"><strong>データの時点について</strong>　{e(warning)}</p>' if warning else ""
    summary = ""
    if verdicts:
        summary = ("<p><strong>最終評価</strong>　" + "、".join(f"{e(k)} {v}指標" for k, v in verdicts.items())
                   + "（目標年度の実績で判定。目標年度の値がない指標は未確定）</p>")
    fresh_rows = ""
    if fresh is not None and len(fresh):
        fresh_rows = "<h2>公表統計の最新の年</h2>\n<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in fresh.columns) \
            + "</tr>\n" + "\n".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>"
                                     for row in fresh.itertuples(index=False)) + "\n</table>"
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{e(catalog.strategy.title_ja)} 効果検証 {fiscal_year}年度</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;line-height:1.6}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;font-size:90%}}
.notice{{background:#FFF4E5;border-left:4px solid #ED7D31;padding:8px 12px}}</style></head>
<body>
<h1>{e(catalog.strategy.title_ja)}<br>効果検証報告（{fiscal_year}年度）</h1>
<p>団体: {e(catalog.strategy.municipality_ja)}（{e(municipality)}）　評価年度: {fiscal_year}年度（{to_era(fiscal_year)}）
　戦略期間: {catalog.strategy.period.start}〜{catalog.strategy.period.end}年度</p>
{notice}
{summary}
<h2>内容</h2>
<ul>
{links}
<li><a href="scorecard.xlsx">スコアカード（Excel）</a>・<a href="scorecard.csv">CSV</a></li>
<li><a href="manifest.json">作成記録（manifest.json: パラメータ、入力ファイルのハッシュ、所要時間）</a></li>
</ul>
{fresh_rows}
<h2>データの出典と時点</h2>
<table><tr><th>出典</th><th>使用した年（区分）</th><th>データの時点</th><th>ライセンス</th></tr>
{src}
</table>
<p>実績のない指標は評価「−」です。各指標の算定式・基準値・目標値はスコアカードに記載しています。
暦年の統計（住民基本台帳）は年度の目標の代用です。</p>
</body></html>
"""


def run_report(fiscal_year: int, out: str | Path | None = None, jobs: int = 2, municipality_code: str = ASHIBETSU,
               catalog_path: str | None = None, data_dir: str | Path | None = None, notebooks: str | Path | None = None,
               deep_dive: list[str] | None = None, kernel: str = KERNEL) -> Path:
    from .actuals import default_files
    from .notebook import freshness_table, freshness_warning, load_context, save_context
    from .scorecard import write_scorecard_xlsx

    started = time.perf_counter()
    catalog_file = Path(catalog_path) if catalog_path else DEFAULT_CATALOG
    data = Path(data_dir) if data_dir else DATA_DIR
    if not (data / "public").is_dir():
        raise KpiError(f"{data}: no public/ folder with the bundled data (run `kpi ingest`)")
    nb_dir = Path(notebooks) if notebooks else NOTEBOOK_DIR
    if not nb_dir.is_dir():
        raise KpiError(f"{nb_dir}: notebook folder not found")
    if jobs < 1:
        raise KpiError(f"--jobs must be at least 1, got {jobs}")
    final = Path(out) if out else REPORTS_DIR / f"FY{fiscal_year}"
    final.parent.mkdir(parents=True, exist_ok=True)

    catalog_arg, data_arg = str(catalog_file.resolve()), str(data.resolve())
    progress("report", "evaluating the KPIs and their forecasts")
    ctx = load_context(fiscal_year, municipality_code, catalog_arg, data_arg)
    catalog, observations = ctx.catalog, ctx.observations
    if deep_dive is None:  # every KPI with data as of the year
        used = observations[(observations["provenance"] != "strategy") & (observations["year"] <= fiscal_year)]
        deep_dive = [k.kpi_id for k in catalog.kpis if k.kpi_id in set(used["kpi_id"])]
    for kpi_id in deep_dive:
        catalog.get(kpi_id)

    staging = final.parent / f".{final.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    figures = staging / "figures"
    kernel = ensure_kernel(kernel)
    # Computed once here, read by every notebook (each would otherwise redo the forecasts).
    context_file = staging / ".context.pkl"
    save_context(ctx, context_file, catalog_arg, data_arg)
    plan = plan_jobs(fiscal_year, municipality_code, catalog_arg, data_arg, nb_dir, deep_dive, figures,
                     str(context_file))
    progress("report", f"FY{fiscal_year}: {len(plan)} notebooks with {jobs} job(s), kernel {kernel!r} → {final}")
    try:
        done = 0
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_run, job, staging, kernel) for job in plan]
            for fut in as_completed(futures):
                job = fut.result()
                done += 1
                mark = "ok" if job.status == "ok" else f"FAILED — {job.error}"
                progress("report", f"[{done}/{len(plan)}] {job.output_name} {mark} ({job.seconds:.1f} s)")
        failed = [j for j in plan if j.status != "ok"]
        if failed:
            kept = final.parent / f"{final.name}.failed"
            shutil.rmtree(kept, ignore_errors=True)
            staging.rename(kept)
            lines = [f"{j.output_name}: {j.error}" for j in failed]
            raise ReportFailed(f"{len(failed)} notebook(s) failed; the executed notebooks are kept in {kept} "
                               f"and {final} was left as it was:\n  " + "\n  ".join(lines))
        write_scorecard_xlsx(ctx.card, staging / "scorecard.xlsx", as_of=fiscal_year, catalog=catalog,
                             freshness=freshness_table(ctx))
        ctx.card.to_csv(staging / "scorecard.csv", index=False)
        context_file.unlink()
        sources = _data_as_of(observations)
        verdicts = ctx.card["verdict"].value_counts().reindex(["達成", "未達成", "未確定"], fill_value=0)
        (staging / "index.html").write_text(
            _index_html(fiscal_year, catalog, plan, sources, municipality_code, freshness_warning(ctx),
                        freshness_table(ctx), verdicts.to_dict() if ctx.card["verdict"].notna().any() else None),
            encoding="utf-8")
        manifest = {
            "fiscal_year": fiscal_year, "municipality_code": municipality_code, "jobs": jobs, "kernel": kernel,
            "parameters": {j.output_name: j.parameters for j in plan},
            "notebooks": [{"output": j.output_name, "source": str(j.notebook), "status": j.status,
                           "seconds": round(j.seconds, 2)} for j in plan],
            "inputs": _inputs(catalog_file, data, nb_dir, default_files(data / "actuals")),
            "data_sources": sources, "packages": _versions(),
            "total_seconds": round(time.perf_counter() - started, 2),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
        swap_in(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress("report", f"done in {time.perf_counter() - started:.1f} s: {final / 'index.html'}")
    return final
