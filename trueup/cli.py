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
