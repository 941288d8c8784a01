"""File-arrival sensors: a new EDI interchange or carrier file triggers that source's refresh.

The cursor is the newest ``(mtime_ns, path)`` seen, so a tick costs one directory walk and a file
is acted on once even if the sensor restarts. Ingestion itself is idempotent (files are
fingerprinted), so a run triggered by a file already loaded by a scheduled run loads nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from ingestion.config import source_dir
from orchestration.jobs import carrier_refresh, edi_refresh
from orchestration.resources import current_paths

# Folders watched per source, relative to its configured directory (EDI: what partners send).
WATCHED: dict[str, tuple[str, str]] = {
    "edi": ("TRUEUP_EDI_DIR", "inbound"),
    "carrier": ("TRUEUP_CARRIER_DIR", ""),
}


def watched_dir(source: str) -> Path | None:
    """The local folder watched for ``source`` (None for a remote bucket URL)."""
    env, sub = WATCHED[source]
    root = source_dir(source, env=env, subdir=source, paths=current_paths())
    if "://" in root and not root.startswith("file://"):
        return None  # object stores need an event notification, not a directory walk
    base = Path(root.removeprefix("file://"))
    return base / sub if sub else base


def newest_files(folder: Path, after: tuple[int, str]) -> list[tuple[int, str]]:
    """``(mtime_ns, path)`` of every file under ``folder`` newer than the cursor ``after``."""
    if not folder.is_dir():
        return []
    found = []
    for dirpath, _, names in os.walk(folder):
        for name in names:
            if name.startswith("."):
                continue  # partial uploads and editor files
            path = os.path.join(dirpath, name)
            entry = (os.stat(path).st_mtime_ns, path)
            if entry > after:
                found.append(entry)
    return sorted(found)


def build_file_sensor(source: str, job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    """A RUNNING sensor requesting ``job`` when new files land in ``source``'s folder."""

    @dg.sensor(
        name=f"{source}_new_files",
        job=job,
        # A landed file must reach the exception queue within a minute at demo scale: the
        # refresh job takes ~30-50 s there, so the folder is looked at every 10 s (a listing).
        minimum_interval_seconds=10,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Refresh {source} and its downstream assets when new files land.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        folder = watched_dir(source)
        if folder is None:
            return dg.SkipReason(f"{source} reads a remote bucket; nothing to watch locally")
        cursor = json.loads(context.cursor) if context.cursor else [0, ""]
        new = newest_files(folder, (int(cursor[0]), str(cursor[1])))
        if not new:
            return dg.SkipReason(f"no new files in {folder}")
        newest = new[-1]
        # One run for the whole batch: ingestion reads every unseen file anyway.
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{source}:{newest[0]}:{newest[1]}",
                    tags={"trueup/source": source, "trueup/new_files": str(len(new))},
                )
            ],
            cursor=json.dumps(list(newest)),
        )

    return _sensor


SENSORS = [build_file_sensor("edi", edi_refresh), build_file_sensor("carrier", carrier_refresh)]
