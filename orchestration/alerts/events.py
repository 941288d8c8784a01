"""Alert events and their rendering as Slack-compatible JSON and e-mail.

An event carries a stable ``event_id`` derived from what happened in Dagster (a run id, the
storage id of a check evaluation, a run id + team for an exception digest): the ledger keys on it,
so re-scanning the event log never alerts twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

Kind = Literal["run_failure", "check_failed", "check_resolved", "freshness", "exceptions"]

_ICON = {
    "run_failure": ":x:",
    "check_failed": ":warning:",
    "check_resolved": ":white_check_mark:",
    "freshness": ":hourglass:",
    "exceptions": ":inbox_tray:",
}


@dataclass(frozen=True)
class AlertEvent:
    """One thing to tell one team about.

    Attributes:
        event_id: Stable identity of the event; the dedupe key.
        kind: What happened.
        team: Owner team the alert is routed to.
        title: One line summary.
        lines: Details, one per line (rendered as a bulleted section).
        severity: ``ERROR``/``WARN`` for checks, ``high``... for exceptions, ``info`` otherwise.
        link: Optional URL of the run or asset in the Dagster UI.
    """

    event_id: str
    kind: Kind
    team: str
    title: str
    lines: tuple[str, ...] = ()
    severity: str = "info"
    link: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Plain text: the title then the details (Slack's fallback and the e-mail body)."""
        body = "\n".join(f"- {line}" for line in self.lines)
        tail = f"\n{self.link}" if self.link else ""
        return f"[trueup] {self.title}" + (f"\n{body}" if body else "") + tail

    def slack_payload(self) -> dict[str, Any]:
        """``{"text": ..., "blocks": [...]}``: Slack incoming-webhook format (Mattermost and
        Teams' Slack-compatible endpoints accept it too)."""
        blocks: list[dict[str, Any]] = [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{_ICON[self.kind]} *{self.title}*"},
            }
        ]
        if self.lines:
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "\n".join(f"• {x}" for x in self.lines)},
                }
            )
        context = f"team `{self.team}` · {self.kind} · severity {self.severity} · {self.event_id}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        return {"text": self.text, "blocks": blocks}

    def email(self, sender: str, recipients: list[str]) -> EmailMessage:
        """The event as an e-mail; ``X-Trueup-Event-Id`` lets mail filters thread or dedupe."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = f"[trueup][{self.team}] {self.title}"
        message["X-Trueup-Event-Id"] = self.event_id
        message.set_content(self.text + f"\n\nteam: {self.team}\nevent: {self.event_id}\n")
        return message
