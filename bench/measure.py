"""Run a command as a subprocess and measure its wall time and peak memory.

Peak RSS is sampled with psutil over the whole process tree (the simulator forks a writer;
``trueup serve`` threads run in-process): ``peak_rss`` is the largest single process seen,
``peak_tree_rss`` the largest sum over the tree (an upper bound: forked children share pages).
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` is also read as a floor for processes too
short-lived to be sampled.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

GIB = 2**30


@dataclass
class Measured:
    """Outcome of one measured subprocess."""

    argv: list[str]
    returncode: int
    seconds: float
    peak_rss: int
    peak_tree_rss: int
    stdout: str
    stderr: str

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss / GIB


def run_measured(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.1,
    check: bool = True,
) -> Measured:
    """Run ``argv`` to completion, sampling the RSS of its process tree.

    Args:
        argv: Command and arguments.
        env: Extra environment variables (added to this process's environment).
        cwd: Working directory.
        interval: Seconds between RSS samples.
        check: Raise ``RuntimeError`` (with the tail of stderr) on a non-zero exit.

    Returns:
        Exit code, wall seconds, peak RSS (single process and tree) and the captured output.
    """
    full_env = {**os.environ, **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = tree_peak = 0
    ps = psutil.Process(proc.pid)
    # read pipes in threads so a chatty child cannot block on a full pipe
    chunks: dict[str, list[str]] = {"out": [], "err": []}

    def drain(stream: object, key: str) -> None:
        for line in stream:  # type: ignore[attr-defined]
            chunks[key].append(line)

    readers = [
        threading.Thread(target=drain, args=(proc.stdout, "out"), daemon=True),
        threading.Thread(target=drain, args=(proc.stderr, "err"), daemon=True),
    ]
    for reader in readers:
        reader.start()
    while proc.poll() is None:
        try:
            procs = [ps, *ps.children(recursive=True)]
            sizes = []
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    sizes.append(p.memory_info().rss)
            if sizes:
                peak = max(peak, max(sizes))
                tree_peak = max(tree_peak, sum(sizes))
        except psutil.NoSuchProcess:
            pass
        time.sleep(interval)
    seconds = time.perf_counter() - t0
    for reader in readers:
        reader.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if after > before:  # a new high-water mark among children: it is this command's
        peak = max(peak, after)
    result = Measured(
        argv=argv,
        returncode=proc.returncode,
        seconds=seconds,
        peak_rss=peak,
        peak_tree_rss=max(tree_peak, peak),
        stdout="".join(chunks["out"]),
        stderr="".join(chunks["err"]),
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}:\n{result.stderr[-3000:]}"
            f"\n{result.stdout[-2000:]}"
        )
    return result


def dir_size(path: Path) -> int:
    """Bytes of every file under ``path`` (0 when missing)."""
    if path.is_file():
        return path.stat().st_size
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
