"""Real alert receivers on 127.0.0.1: a webhook HTTP server and an SMTP server (aiosmtpd).

Every team's webhook variable points at its own path of the receiver, so where an alert lands
shows how it was routed. The ``servers`` fixture is registered in ``conftest.py``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from orchestration.alerts.routing import load_config
from trueup.settings import Paths


@dataclass
class Received:
    """What the servers got: webhook bodies by team path, e-mails as (recipients, message)."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    mails: list[tuple[list[str], Any]] = field(default_factory=list)
    smtp_port: int = 0

    def posts_to(self, team: str) -> list[dict[str, Any]]:
        return [body for path, body in self.posts if path == f"/{team}"]

    def mails_to(self, address: str) -> list[Any]:
        return [message for rcpt, message in self.mails if address in rcpt]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def servers(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> Iterator[Received]:
    """A webhook receiver and an SMTP server; every team's destinations point at them."""
    received = Received()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.posts.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()

    class Collect:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
            return "250 OK"

    smtp_port = received.smtp_port = free_port()
    smtp = Controller(Collect(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()

    for team in load_config().teams:
        url = f"http://127.0.0.1:{http.server_port}/{team}"
        monkeypatch.setenv(f"TRUEUP_ALERT_WEBHOOK_{team.upper()}", url)
    monkeypatch.setenv("TRUEUP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TRUEUP_SMTP_PORT", str(smtp_port))
    monkeypatch.delenv("TRUEUP_ALERTING_CONFIG", raising=False)
    try:
        yield received
    finally:
        smtp.stop()
        http.shutdown()
        http.server_close()
