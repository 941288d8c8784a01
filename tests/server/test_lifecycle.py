"""Binding, startup and shutdown: loopback only, clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.server import make_server, running_server, running_server_process

from .conftest import TOKEN, Company, fetch, wms_headers

# The project's own entry point, as a user runs it; beside the interpreter when the venv is not.
_REPO_TRUEUP = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "trueup"
TRUEUP = _REPO_TRUEUP if _REPO_TRUEUP.exists() else Path(sys.executable).parent / "trueup"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_binds_127_0_0_1_only(company: Company) -> None:
    server = make_server(company.path, token=TOKEN, quiet=True)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
    with running_server(company.path, token=TOKEN, quiet=True) as url:
        port = int(url.rsplit(":", 1)[1])
        # Linux routes all of 127/8 to loopback: a wildcard bind would accept this connection.
        with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=1):
            pass


def test_running_server_stops_promptly_with_an_idle_keep_alive_connection(
    company: Company,
) -> None:
    with running_server(company.path, token=TOKEN, quiet=True) as url:
        conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
        conn.request("GET", "/wms/api/v1/shipments?page_size=1", headers=wms_headers())
        assert conn.getresponse().read()
        started = time.monotonic()
    assert time.monotonic() - started < 2
    conn.close()


def test_requests_are_logged_one_line_each_to_stderr(
    company: Company, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_server(company.path, token=TOKEN) as url:
        fetch(f"{url}/wms/api/v1/shipments?page_size=2", wms_headers())
    err = capsys.readouterr().err
    assert "GET /wms/api/v1/shipments?page_size=2 200 2 rows" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_trueup_serve_exits_0_on_signal(company: Company, sig: signal.Signals) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [str(TRUEUP), "serve", "--data", str(company.path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if fetch(f"http://127.0.0.1:{port}/health", timeout=0.5).status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
        process.send_signal(sig)
        out, err = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert f"listening on http://127.0.0.1:{port}" in out
    assert "Traceback" not in err


def test_a_server_in_a_child_process_serves_until_its_block_ends(company: Company) -> None:
    with running_server_process(company.path, token=TOKEN) as url:
        reply = fetch(f"{url}/wms/api/v1/shipments?page_size=2", wms_headers())
        assert reply.status == 200
        assert len(reply.json["data"]) == 2
    with pytest.raises(OSError):
        fetch(f"{url}/health", timeout=1)


def test_a_server_process_whose_parent_dies_stops_by_itself(company: Company) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from simulator.server import running_server_process as run\n"
            "with run(Path(sys.argv[1]), token='t') as url:\n"
            "    print(url, flush=True); time.sleep(60)",
            str(company.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    url = parent.stdout.readline().strip()
    assert fetch(f"{url}/health").status == 200
    parent.kill()  # no clean-up runs: the child must notice on its own
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            fetch(f"{url}/health", timeout=1)
        except OSError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the orphaned server kept serving")
