"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, and the Airflow
connection ``complaints_smtp`` pointing at it (``AIRFLOW_CONN_COMPLAINTS_SMTP``, JSON form).

    from smtp_inbox import smtp_inbox  # noqa: F401  (registers the ``smtp_inbox`` fixture)
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest

FROM_EMAIL = "complaints-pipeline@district.example"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["subject"])

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


@dataclass
class Inbox:
    """The aiosmtpd handler (``handle_DATA`` is its hook's name): every message accepted is kept, parsed."""

    port: int = 0
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    from aiosmtpd.controller import Controller

    inbox = Inbox(port=_free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": inbox.port,
                # A plain local relay: no TLS, no login; the sender comes from the connection.
                "extra": {"from_email": FROM_EMAIL, "disable_ssl": True, "disable_tls": True, "timeout": 10},
            }
        ),
    )
    try:
        yield inbox
    finally:
        controller.stop()
