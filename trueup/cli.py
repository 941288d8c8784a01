"""The `trueup` command line.

Each command imports its implementation lazily: `trueup --help` must stay instant even though the
pipeline pulls in dagster, dbt and dlt.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from trueup.settings import Paths


@click.group()
@click.version_option(package_name="trueup")
def main() -> None:
    """trueup: load every system of a distributor, reconcile, surface true exceptions."""


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: $TRUEUP_DATA_DIR/sources).",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default="2026-01-01",
    show_default=True,
    help="First simulated day (UTC).",
)
@click.option("--days", type=click.IntRange(min=1), default=90, show_default=True)
@click.option("--orders-per-day", type=click.IntRange(min=1), default=150, show_default=True)
@click.option(
    "--discrepancy-rate",
    type=click.FloatRange(0.0, 0.5),
    default=0.02,
    show_default=True,
    help="Share of eligible documents given an injected discrepancy.",
)
@click.option(
    "--erp-url",
    default=None,
    help="Write the ERP to this SQLAlchemy URL instead of <out>/erp/erp.sqlite.",
)
@click.option("--quiet", is_flag=True, help="No progress output.")
def simulate(
    out: Path | None,
    seed: int,
    start,
    days: int,
    orders_per_day: int,
    discrepancy_rate: float,
    erp_url: str | None,
    quiet: bool,
) -> None:
    """Simulate a distribution company's source systems, with ground truth."""
    from simulator.config import SimulationConfig
    from simulator.generate import simulate as run_simulation

    config = SimulationConfig(
        seed=seed,
        start=start.date() if hasattr(start, "date") else date.fromisoformat(str(start)),
        days=days,
        orders_per_day=orders_per_day,
        discrepancy_rate=discrepancy_rate,
        erp_url=erp_url,
    )
    out_dir = (out or Paths.from_env().sources).resolve()
    manifest = run_simulation(config, out_dir, progress=None if quiet else _progress)
    _print_manifest_summary(manifest, out_dir)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _print_manifest_summary(manifest: dict, out_dir: Path) -> None:
    click.echo(f"Simulated company written to {out_dir}")
    click.echo(
        f"  as of {manifest['as_of']}  ({manifest['config']['days']} days, "
        f"seed {manifest['config']['seed']})"
    )
    for name, value in manifest.get("summary", {}).items():
        click.echo(
            f"  {name:<38} {value:>12,}" if isinstance(value, int) else f"  {name:<38} {value}"
        )
    click.echo(f"  generated in {manifest.get('elapsed_s', 0):.1f} s")


@main.command()
@click.option(
    "--data",
    "data",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Simulated company directory (default: $TRUEUP_DATA_DIR/sources).",
)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option(
    "--token",
    envvar="TRUEUP_API_TOKEN",
    default="trueup-dev-token",
    show_default=True,
    help="Bearer/X-Shopify-Access-Token the API accepts ($TRUEUP_API_TOKEN).",
)
@click.option(
    "--fail-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    help="Share of requests answered with an injected fault.",
)
@click.option(
    "--faults",
    default="429,500,slow",
    show_default=True,
    help="Comma-separated fault kinds to draw from: 429, 500, slow.",
)
@click.option("--fault-seed", type=int, default=0)
def serve(
    data: Path | None, port: int, token: str, fail_rate: float, faults: str, fault_seed: int
) -> None:
    """Serve the simulated WMS and Shopify APIs on 127.0.0.1."""
    from simulator.server import FaultPlan, serve_forever

    plan = FaultPlan(
        rate=fail_rate, kinds=tuple(k.strip() for k in faults.split(",") if k), seed=fault_seed
    )
    serve_forever(data or Paths.from_env().sources, port=port, token=token, faults=plan)


@main.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Simulate a default company (90 days) under $TRUEUP_DATA_DIR and run trueup on it."""
    ctx.invoke(
        simulate,
        out=None,
        seed=42,
        start="2026-01-01",
        days=90,
        orders_per_day=150,
        discrepancy_rate=0.02,
        erp_url=None,
        quiet=False,
    )
    succeeded = _run_and_report("full_reconciliation")
    paths = Paths.from_env()
    click.echo("\nOpen the Dagster UI on this run history with:")
    click.echo(
        f"  DAGSTER_HOME={paths.dagster_home} .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1"
    )
    click.echo(f"BI tools read the published marts: {paths.published / 'warehouse.duckdb'}")
    sys.exit(0 if succeeded else 1)


@main.command()
@click.option(
    "--job",
    default="full_reconciliation",
    show_default=True,
    help="Dagster job to execute (full_reconciliation, ingest_and_rebuild, refresh_edi...).",
)
def run(job: str) -> None:
    """Ingest, build and check everything once in-process (Dagster), then show the queue."""
    sys.exit(0 if _run_and_report(job) else 1)


def _run_and_report(job: str) -> bool:
    """Run a job in-process, print the exception queue (and the score); True on success."""
    from orchestration.runner import format_exceptions, run_everything

    paths = Paths.from_env()
    summary = run_everything(paths, job_name=job)
    click.echo(f"\nDagster run {summary.run_id}: {'succeeded' if summary.success else 'FAILED'}")
    for step in summary.failed_steps:
        click.echo(f"  failed step: {step}", err=True)
    for check in summary.failed_checks:
        click.echo(f"  failed check: {check}", err=True)
    for check in summary.warned_checks:
        click.echo(f"  warning check: {check}", err=True)
    click.echo("\nOpen exception queue")
    click.echo(format_exceptions(summary.exceptions))
    if (paths.sources / "manifest.json").exists() and (paths.sources / "ground_truth").is_dir():
        try:
            from trueup.score import format_score, score_paths

            click.echo("\nScore against the simulated ground truth")
            click.echo(format_score(score_paths(paths)))
        except Exception as exc:  # the score is a bonus; never hide the run's own outcome
            click.echo(f"(score unavailable: {exc})", err=True)
    return summary.success


@main.command()
@click.option(
    "--source",
    "sources",
    multiple=True,
    default=("all",),
    show_default=True,
    type=click.Choice(["erp", "wms", "shopify", "carrier", "edi", "amazon", "all"]),
    help="Source to load; repeat for several.",
)
@click.option("--quiet", is_flag=True, help="Only the summary table.")
def ingest(sources: tuple[str, ...], quiet: bool) -> None:
    """Load source systems into the warehouse's raw_<source> datasets."""
    from ingestion.conservation import ConservationError
    from ingestion.parallel import ingest_sources
    from ingestion.registry import SOURCES, SourceNotAvailable

    names = list(SOURCES) if "all" in sources else list(dict.fromkeys(sources))
    failed = False
    rows = []
    # Extracts run in worker processes, loads one at a time (ingestion.parallel).
    for outcome in ingest_sources(names, progress=None if quiet else _progress):
        name, exc, result = outcome.source, outcome.error, outcome.result
        if isinstance(exc, SourceNotAvailable):
            if "all" not in sources:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"{name}: skipped, not available yet ({exc})", err=True)
            continue
        if isinstance(exc, ConservationError):
            failed = True
            click.echo(str(exc), err=True)
            continue
        if exc is not None:  # one broken source must not stop the others
            failed = True
            click.echo(f"{name}: FAILED: {exc}", err=True)
            continue
        rows.append(
            (name, result.loaded, result.quarantined, result.duplicates_skipped, result.seconds)
        )
    click.echo(f"{'source':<10} {'loaded':>12} {'quarantined':>12} {'skipped':>12} {'seconds':>8}")
    for name, loaded, quarantined, skipped, seconds in sorted(
        rows, key=lambda r: names.index(r[0])
    ):
        click.echo(f"{name:<10} {loaded:>12,} {quarantined:>12,} {skipped:>12,} {seconds:>8.1f}")
    if failed:
        sys.exit(1)


@main.command()
@click.option("--select", default=None, help="dbt selection (default: the whole project).")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Observation time (default: the simulated company's manifest as_of).",
)
def build(select: str | None, as_of: str | None) -> None:
    """Build the dbt project (staging, canonical, reconciliation marts, exception queue, tests)."""
    from trueup.dbt import build as run_build

    result = run_build(select=select, as_of=as_of)
    sys.exit(0 if result.success else 1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def score(as_json: bool) -> None:
    """Compare the open exception queue with the simulated company's ground truth."""
    from trueup.score import format_score, score_paths

    result = score_paths()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(format_score(result))
        click.echo(
            "perfect" if result.perfect else "NOT perfect: see missed / false positives with --json"
        )


@main.command()
@click.argument("order_ref")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def trace(order_ref: str, as_json: bool) -> None:
    """Every event of an order across systems (so_no, correlation id, customer PO or channel ref)."""
    from trueup.dbt import format_trace, trace_order

    result = trace_order(order_ref)
    click.echo(json.dumps(result, indent=2, default=str) if as_json else format_trace(result))
    sys.exit(0 if result["lines"] else 1)


@main.group()
def edi() -> None:
    """X12 EDI tools."""


@edi.command("inspect")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def edi_inspect(files: tuple[Path, ...]) -> None:
    """Print interchanges, groups, transaction sets and validation errors as JSON, per file."""
    from trueup.x12.inspect import inspect_file

    rejected = False
    for path in files:
        report = inspect_file(path)
        rejected = rejected or report["rejected"]
        click.echo(json.dumps(report, indent=2, default=str))
    sys.exit(1 if rejected else 0)


if __name__ == "__main__":
    main()
