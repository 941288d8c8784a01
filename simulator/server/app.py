"""The HTTP server: routing, authentication, injected faults, request log, lifecycle."""

from __future__ import annotations

import hmac
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from . import shopify, wms
from .common import ApiError, Response, parse_query
from .faults import FaultInjector, FaultPlan
from .store import SqliteStore

HOST = "127.0.0.1"  # never another interface: the token is a development default
DEFAULT_TOKEN = "trueup-dev-token"


class TrueupServer(ThreadingHTTPServer):
    """The simulated company's WMS and Shopify APIs on ``127.0.0.1:port``.

    Args:
        data_dir: The simulated company (holds ``wms/wms.sqlite`` and ``shopify/shopify.sqlite``).
        port: TCP port; 0 picks a free one (read it back from :attr:`base_url`).
        token: The bearer token (WMS) and ``X-Shopify-Access-Token`` (Shopify) accepted.
        faults: Which requests get an injected fault.
        quiet: No request log.
        index_missing: Add a missing ``(updated_at, id)`` index to a store (see ``SqliteStore``).
    """

    daemon_threads = True  # a stuck client must not keep the process alive after shutdown

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        faults: FaultPlan | None = None,
        *,
        quiet: bool = False,
        index_missing: bool = True,
    ) -> None:
        data_dir = Path(data_dir)
        self.token = token
        self.quiet = quiet
        self.faults = FaultInjector(faults or FaultPlan())
        self.wms = SqliteStore(
            data_dir / "wms" / "wms.sqlite", index_missing=index_missing, log=self.log
        )
        self.shopify = SqliteStore(
            data_dir / "shopify" / "shopify.sqlite", index_missing=index_missing, log=self.log
        )
        # Set on close so a `slow` fault stops sleeping and the thread can finish.
        self.stopping = threading.Event()
        self._open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.server_address[1]}"

    def log(self, line: str) -> None:
        """One line to stderr unless quiet."""
        if not self.quiet:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    # Keep-alive connections would otherwise hold their threads in recv() past shutdown.
    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._sockets_lock:
            self._open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._sockets_lock:
            self._open_sockets.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Stop listening, hang up idle connections, close the stores' connections."""
        self.stopping.set()
        super().server_close()
        with self._sockets_lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.wms.close()
        self.shopify.close()

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        # A client that timed out (often on a `slow` fault) and hung up is not a server error.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client walking pages reuses its connection
    server_version = "trueup-simulator/1.0"
    timeout = 60  # seconds an idle keep-alive connection is kept
    # Headers and body are two writes; with Nagle's algorithm the body can wait for the
    # client's delayed ACK of the headers (40 ms a page on Linux).
    disable_nagle_algorithm = True
    server: TrueupServer

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _refuse(self) -> None:
        # The request body is never read, so the connection cannot carry another request.
        self.close_connection = True
        self._write(
            Response.json(
                405,
                {
                    "error": "method_not_allowed",
                    "message": f"{self.command} is not supported; use GET",
                },
                {"Allow": "GET, HEAD", "Connection": "close"},
            ),
            True,
            time.perf_counter(),
            None,
        )

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        # The base class logs every request in Apache form; _write logs one compact line instead.
        pass

    def _answer(self, send_body: bool) -> None:
        started = time.perf_counter()
        fault: str | None = None
        try:
            response, fault = self._route()
        except ApiError as exc:
            response = exc.to_response()
        except Exception:
            self.server.log(traceback.format_exc().rstrip())
            response = Response.json(500, {"error": "internal", "message": "unexpected error"})
        self._write(response, send_body, started, fault)

    def _route(self) -> tuple[Response, str | None]:
        url = urlsplit(self.path)
        path = url.path
        if path.rstrip("/") == "/health":
            return Response.json(200, {"status": "ok"}), None
        if path.startswith(wms.PREFIX):
            self._authorise(
                self.headers.get("Authorization", ""),
                f"Bearer {self.server.token}",
                wms.error(401, "unauthorized", "missing or wrong bearer token"),
                {"WWW-Authenticate": 'Bearer realm="wms"'},
            )
            fault, response = self._fault(wms_api=True)
            if response is not None:
                return response, fault
            try:
                params = parse_query(url.query)
            except ValueError as exc:
                raise wms.error(
                    400,
                    "bad_request",
                    f"parameter '{exc}' given more than once",
                    parameter=str(exc),
                ) from None
            resource = path[len(wms.PREFIX) :].strip("/")
            return wms.handle(self.server.wms, resource, params), fault
        if path.startswith("/admin/api/"):
            self._authorise(
                self.headers.get("X-Shopify-Access-Token", ""),
                self.server.token,
                shopify.error(
                    401,
                    "[API] Invalid API key or access token (unrecognized login or wrong password)",
                ),
                {},
            )
            if not path.startswith(shopify.PREFIX):
                raise shopify.error(404, "Not Found")
            fault, response = self._fault(wms_api=False)
            if response is None:
                try:
                    params = parse_query(url.query)
                except ValueError as exc:
                    raise shopify.error(400, {str(exc): "given more than once"}) from None
                response = shopify.handle(
                    self.server.shopify, path[len(shopify.PREFIX) :], params, self.server.base_url
                )
            response.headers.setdefault("X-Shopify-Shop-Api-Call-Limit", "1/40")
            return response, fault
        return Response.json(404, {"error": "not_found", "message": f"no route {path}"}), None

    @staticmethod
    def _authorise(given: str, expected: str, refusal: ApiError, headers: dict[str, str]) -> None:
        # Constant-time comparison: cheap, and the habit is worth keeping even in a simulator.
        if not hmac.compare_digest(given.encode(), expected.encode()):
            refusal.headers.update(headers)
            raise refusal

    def _fault(self, wms_api: bool) -> tuple[str | None, Response | None]:
        """Draw this request's fault; a `slow` one sleeps here and then answers normally."""
        fault = self.server.faults.next_fault()
        plan = self.server.faults.plan
        if fault == "429":
            retry = {"Retry-After": str(plan.retry_after)}
            if wms_api:
                response = wms.error(
                    429, "rate_limited", "too many requests", retry_after=plan.retry_after
                ).to_response()
                response.headers.update(retry)
                return fault, response
            return fault, Response.json(
                429,
                {
                    "errors": "Exceeded 2 calls per second for api "
                    "client. Reduce request rates to resume "
                    "uninterrupted service."
                },
                retry,
            )
        if fault == "500":
            if wms_api:
                return fault, wms.error(500, "internal", "injected fault").to_response()
            return fault, Response.json(500, {"errors": "Internal Server Error"})
        if fault == "slow":
            self.server.stopping.wait(plan.slow_seconds)
        return fault, None

    def _write(
        self, response: Response, send_body: bool, started: float, fault: str | None
    ) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)
        if not self.server.quiet:
            rows = f" {response.rows} rows" if response.rows is not None else ""
            note = f" fault={fault}" if fault else ""
            elapsed = (time.perf_counter() - started) * 1000
            self.server.log(
                f"{self.command} {self.path} {response.status}{rows} "
                f"{len(response.body)}B {elapsed:.0f}ms{note}"
            )


def make_server(
    data_dir: Path,
    port: int = 0,
    token: str = DEFAULT_TOKEN,
    faults: FaultPlan | None = None,
    *,
    quiet: bool = False,
    index_missing: bool = True,
) -> TrueupServer:
    """A bound, not yet serving :class:`TrueupServer` (for callers that run the loop themselves)."""
    return TrueupServer(data_dir, port, token, faults, quiet=quiet, index_missing=index_missing)


def serve_forever(
    data_dir: Path,
    port: int = 8765,
    token: str = DEFAULT_TOKEN,
    faults: FaultPlan | None = None,
    *,
    quiet: bool = False,
    index_missing: bool = True,
) -> None:
    """Serve until SIGINT or SIGTERM, then close everything and return (the process exits 0).

    Raises:
        SystemExit: if the port cannot be bound.
    """
    try:
        server = make_server(
            data_dir, port, token, faults, quiet=quiet, index_missing=index_missing
        )
    except OSError as exc:
        raise SystemExit(f"trueup serve: cannot listen on {HOST}:{port}: {exc.strerror}") from None
    plan = server.faults.plan
    print(f"trueup serve: listening on {server.base_url}", flush=True)
    print(
        f"  WMS      {server.base_url}{wms.PREFIX}<resource>  (Authorization: Bearer ...)",
        flush=True,
    )
    print(
        f"  Shopify  {server.base_url}{shopify.PREFIX}orders.json  (X-Shopify-Access-Token)",
        flush=True,
    )
    if plan.rate or plan.first_n:
        print(
            f"  faults   rate {plan.rate} of {','.join(plan.kinds)} (seed {plan.seed}, "
            f"first {plan.first_n})",
            flush=True,
        )

    def request_stop(signum: int, frame: object) -> None:
        # shutdown() waits for the serving loop, which this (main) thread is running: hand it off.
        threading.Thread(target=server.shutdown, name="trueup-serve-stop", daemon=True).start()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, request_stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
    print("trueup serve: stopped", flush=True)


@contextmanager
def running_server(
    data_dir: Path,
    port: int = 0,
    token: str = DEFAULT_TOKEN,
    faults: FaultPlan | None = None,
    *,
    quiet: bool = False,
    index_missing: bool = True,
) -> Iterator[str]:
    """Run the server on a background thread for the duration of a ``with`` block.

    Yields:
        The base URL, ``http://127.0.0.1:PORT`` (a free port unless one is given).
    """
    server = make_server(data_dir, port, token, faults, quiet=quiet, index_missing=index_missing)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="trueup-serve",
        daemon=True,
    )
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running_server_process(
    data_dir: Path, token: str = DEFAULT_TOKEN, *, start_timeout: float = 30.0
) -> Iterator[str]:
    """Run the server in a child process for the duration of a ``with`` block.

    A client in the same process as the server shares one interpreter lock with it, so serving
    and reading pages take turns; a child process serves on another core. The child stops with
    the block, and on its own if this process dies (it watches its parent).

    Yields:
        The base URL, ``http://127.0.0.1:PORT`` (a free port).

    Raises:
        RuntimeError: The child did not start listening.
    """
    env = {**os.environ, "TRUEUP_SERVE_DATA": str(data_dir), "TRUEUP_SERVE_TOKEN": token}
    child = subprocess.Popen(
        [sys.executable, "-c", "from simulator.server.app import _serve_for_parent as s; s()"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        line = _first_line(child, start_timeout)
        marker = "listening on "
        if marker not in line:
            raise RuntimeError(f"simulator server did not start: {line.strip() or 'no output'}")
        yield line.split(marker, 1)[1].strip()
    finally:
        # Killed, not asked to stop: it only reads (its stores are opened read-only, and the
        # simulator writes every index its pages use), and a graceful stop waits out the serving
        # loop's poll interval, which every ingest would pay. A store from elsewhere that lacks an
        # index gets it on first use; a kill during that build leaves a journal only a writer
        # can roll back, as the old graceful stop did too (its request threads were daemons).
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _first_line(child: subprocess.Popen, timeout: float) -> str:
    assert child.stdout is not None
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(child.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


def _serve_for_parent() -> None:
    """The child of :func:`running_server_process`: serve until told to stop or orphaned."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="trueup-serve-parent", daemon=True).start()
    serve_forever(
        Path(os.environ["TRUEUP_SERVE_DATA"]),
        port=0,
        token=os.environ["TRUEUP_SERVE_TOKEN"],
        quiet=True,
    )
