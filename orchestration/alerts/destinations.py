"""Delivery: Slack-compatible webhooks (urllib) and e-mail (smtplib), each event once each.

Only the standard library: a webhook is one JSON POST and e-mail is one SMTP session, neither
worth a dependency. Failures are returned, not raised, so one dead destination does not keep the
others from hearing about an event; the caller retries what failed on a later tick.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from dataclasses import dataclass, field

from orchestration.alerts.events import AlertEvent
from orchestration.alerts.ledger import AlertLedger
from orchestration.alerts.routing import AlertingConfig, SmtpSettings

log = logging.getLogger(__name__)


def post_webhook(url: str, event: AlertEvent, timeout: float = 10.0) -> None:
    """POST the event's Slack-compatible JSON body to ``url``.

    Raises:
        OSError: The endpoint is unreachable or answered with an HTTP error.
    """
    body = json.dumps(event.slack_payload()).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def send_email(settings: SmtpSettings, recipients: list[str], event: AlertEvent) -> None:
    """Send the event to ``recipients`` through the configured relay.

    Raises:
        OSError: The relay is unreachable (``smtplib.SMTPException`` is an ``OSError``).
        RuntimeError: No SMTP host is configured.
    """
    host = os.environ.get(settings.host_env)
    if not host:
        raise RuntimeError(f"${settings.host_env} is not set")
    port = int(os.environ.get(settings.port_env) or (587 if settings.starttls else 25))
    with smtplib.SMTP(host, port, timeout=settings.timeout_seconds) as smtp:
        if settings.starttls:
            smtp.starttls()
        username = os.environ.get(settings.username_env)
        password = os.environ.get(settings.password_env)
        if username and password:
            smtp.login(username, password)
        smtp.send_message(event.email(settings.sender, recipients))


@dataclass
class DeliveryReport:
    """What one :meth:`Dispatcher.deliver` call did."""

    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Dispatcher:
    """Routes events to their team's destinations and records each delivery in the ledger."""

    def __init__(self, config: AlertingConfig, ledger: AlertLedger) -> None:
        self.config = config
        self.ledger = ledger

    def deliver(self, event: AlertEvent) -> DeliveryReport:
        """Send ``event`` to every destination of its team that has not had it yet.

        Destinations are named in the ledger by their variable or recipients, never by URL:
        the ledger must not hold webhook tokens.
        """
        report = DeliveryReport()
        team = self.config.destinations(event.team)
        targets: list[tuple[str, object]] = [(f"webhook:{env}", env) for env in team.webhook_env]
        if team.email:
            targets.append((f"email:{','.join(sorted(team.email))}", list(team.email)))
        for name, target in targets:
            if self.ledger.was_sent(event.event_id, name):
                report.skipped.append(name)
                continue
            try:
                if isinstance(target, str):
                    url = os.environ.get(target)
                    if not url:
                        # Unconfigured destination: nothing to retry, so not a failure.
                        log.info("alert %s: $%s unset, webhook skipped", event.event_id, target)
                        report.skipped.append(name)
                        continue
                    post_webhook(url, event, self.config.smtp.timeout_seconds)
                else:
                    if not os.environ.get(self.config.smtp.host_env):
                        log.info("alert %s: no SMTP host, e-mail skipped", event.event_id)
                        report.skipped.append(name)
                        continue
                    send_email(self.config.smtp, list(target), event)  # type: ignore[arg-type]
            except (OSError, RuntimeError) as error:
                log.warning("alert %s to %s failed: %s", event.event_id, name, error)
                report.failed.append(name)
                continue
            self.ledger.mark_sent(event.event_id, name, event.team, event.kind)
            report.sent.append(name)
        return report
