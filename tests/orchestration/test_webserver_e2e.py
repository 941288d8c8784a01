"""End to end through the UI's API: webserver + daemon, a run launched over GraphQL, clean stop.

What a user does with ``dagster dev``, minus the browser: ``dagster-webserver`` and
``dagster-daemon run`` start as subprocesses on a free port of 127.0.0.1, with a temporary
DAGSTER_HOME and a data directory holding a small simulated company. The test launches a run with
the ``launchRun`` mutation (the daemon dequeues it: the instance uses the queued run coordinator),
polls ``runOrError`` until it succeeds, then stops every process it started (process groups,
SIGTERM then SIGKILL) and asserts none is left.

The run ingests one source (Amazon settlements) through the implicit asset job: on this 2-core
machine the three code loads (webserver, daemon, run worker) already take most of a minute, and
the full job adds 80-100 s more; ``test_full_run`` covers the full job in-process. 20-40 s
here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.orchestration.conftest import _LEAKY_ENV
from trueup.settings import REPO_ROOT, Paths

pytestmark = pytest.mark.slow

# The implicit job of every asset in the code location, restricted to one cheap source.
JOB = "__ASSET_JOB"
ASSETS = [["raw_amazon", "settlement_lines"], ["raw_amazon", "settlements"]]
STARTUP_TIMEOUT_S = 90
RUN_TIMEOUT_S = 120
STOP_GRACE_S = 15

LAUNCH_RUN = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN_STATUS = """
query Status($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on PythonError { message }
  }
}
"""

LOCATIONS = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""

SENSORS = """
query Sensors($selector: RepositorySelector!) {
  sensorsOrError(repositorySelector: $selector) {
    __typename
    ... on Sensors { results { id name sensorState { status } } }
  }
}
"""

STOP_SENSOR = """
mutation Stop($id: String!) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}
"""

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _free_port() -> int:
    """A port nobody listens on now (the OS picks it; released for the webserver to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GraphQL:
    """A minimal client of the webserver's ``/graphql`` endpoint."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            self.url, json={"query": query, "variables": variables or {}}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def _start(name: str, command: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    """Start a Dagster service in its own session, logging to ``logs/<name>.log``.

    Its own session makes its process group hold the code servers and run workers it spawns,
    so teardown can signal them all at once.
    """
    with open(logs / f"{name}.log", "wb") as log:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextlib.contextmanager
def _stopped_on_exit() -> Iterator[list[subprocess.Popen]]:
    """A list to put started processes in; all of them, and all they started, stop on exit."""
    started: list[subprocess.Popen] = []
    try:
        yield started
    finally:
        _stop_all(started)


def _descendants(procs: list[subprocess.Popen]) -> list[psutil.Process]:
    """Every live process started by ``procs`` (the processes themselves included)."""
    found: list[psutil.Process] = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(proc.pid)
            found += [parent, *parent.children(recursive=True)]
    return found


def _stop_all(procs: list[subprocess.Popen]) -> None:
    """SIGTERM every process group, wait, SIGKILL what is left, and reap our children."""
    # Listed before signalling: once a parent dies, its children are re-parented and unfindable.
    tree = _descendants(procs)
    groups = set()
    for p in tree:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(p.pid))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)
        for p in tree:  # any that left our groups (a setsid in a child) get the same signal
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(sig)
        _, alive = psutil.wait_procs(tree, timeout=STOP_GRACE_S if sig == signal.SIGTERM else 5)
        if not alive:
            break
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for_location(gql: GraphQL, webserver: subprocess.Popen, logs: Path) -> str:
    """Wait until the GraphQL endpoint answers and the code location has loaded; its name."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last: Any = None
    while time.monotonic() < deadline:
        assert webserver.poll() is None, (logs / "webserver.log").read_text()[-3000:]
        try:
            last = gql(LOCATIONS)["workspaceOrError"]
        except (requests.ConnectionError, requests.HTTPError, requests.Timeout):
            time.sleep(1)
            continue
        entries = last.get("locationEntries") or []
        loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
        if loaded:
            location = loaded[0]["locationOrLoadError"]
            assert location["__typename"] == "RepositoryLocation", location
            return str(loaded[0]["name"])
        time.sleep(1)
    raise AssertionError(f"code location did not load in {STARTUP_TIMEOUT_S}s: {last}")


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Paths, dict[str, str]]:
    """A simulated company (same size as test_full_run) and the environment of the services."""
    from simulator.config import SimulationConfig
    from simulator.generate import simulate

    root = Path(tmp_path_factory.mktemp("e2e_company"))
    paths = Paths(root)
    simulate(SimulationConfig(days=21, orders_per_day=30, start=date(2026, 1, 1)), paths.sources)
    paths.dagster_home.mkdir(parents=True)
    # The project's instance settings: queued runs, one at a time, one warehouse writer.
    shutil.copyfile(REPO_ROOT / "dagster.yaml", paths.dagster_home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    env |= {
        "TRUEUP_DATA_DIR": str(root),
        "DAGSTER_HOME": str(paths.dagster_home),
        # The venv's tools (dbt) first, whatever shell started pytest.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    return paths, env


def test_a_run_launched_through_graphql_succeeds_and_every_process_stops(
    company: tuple[Paths, dict[str, str]], tmp_path: Path
) -> None:
    paths, env = company
    port = _free_port()
    gql = GraphQL(port)
    started_at = time.monotonic()
    status = "NOT LAUNCHED"
    bin_dir = Path(sys.executable).parent
    with _stopped_on_exit() as procs:
        webserver = [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
        procs.append(_start("webserver", [*webserver, "-w", "workspace.yaml"], env, tmp_path))
        location = _wait_for_location(gql, procs[0], tmp_path)
        repository = {"repositoryLocationName": location, "repositoryName": "__repository__"}

        # The project's sensors start RUNNING (file arrivals, freshness, alerts) and would queue
        # runs of their own at the daemon's first tick: stop them all before the daemon starts,
        # so the run queue holds only the test's run.
        sensors = gql(SENSORS, {"selector": repository})["sensorsOrError"]["results"]
        for sensor in sensors:
            stopped = gql(STOP_SENSOR, {"id": sensor["id"]})["stopSensor"]
            assert stopped["__typename"] == "StopSensorMutationResult", stopped

        selector = {**repository, "jobName": JOB, "assetSelection": [{"path": p} for p in ASSETS]}
        launched = gql(LAUNCH_RUN, {"executionParams": {"selector": selector, "runConfigData": {}}})
        assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["launchRun"]["run"]["runId"]

        # The queued run coordinator leaves the run QUEUED until the daemon dequeues it.
        daemon = [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"]
        procs.append(_start("daemon", daemon, env, tmp_path))

        # Every process seen while the run goes on, the run worker included: short-lived ones
        # would be gone from the tree by teardown, and must be gone by then, too.
        seen: set[psutil.Process] = set()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            assert procs[1].poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            seen.update(_descendants(procs))
            result = gql(RUN_STATUS, {"runId": run_id})["runOrError"]
            assert result["__typename"] == "Run", result
            status = result["status"]
            if status in TERMINAL:
                break
            time.sleep(2)
        seen.update(_descendants(procs))
    elapsed = time.monotonic() - started_at

    # After the context manager: nothing the test started (or they started) is still running.
    assert len(seen) >= 4, "webserver, daemon and their code servers at least"
    survivors = [p for p in seen if _alive(p)]
    assert survivors == [], [(p.pid, p.cmdline()) for p in survivors]
    assert status == "SUCCESS", (
        f"run {status} after {elapsed:.0f}s\n" + (tmp_path / "daemon.log").read_text()[-3000:]
    )

    # The run loaded what it was asked to, into the data dir the services were given.
    import duckdb

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        loaded = con.execute("select count(*) from raw_amazon.settlements").fetchone()[0]
    assert loaded > 0
