"""A real SMTP server for `make demo`: the alert and digest e-mails are sent, received and kept.

aiosmtpd (https://aiosmtpd.aio-libs.org/) listens on a free loopback port; every message it
accepts is written as an ``.eml`` file (RFC 5322, what a mail client opens) into the demo's
output folder, so a user sees the e-mail a district head would get. The Airflow connection
``complaints_smtp`` (``AIRFLOW_CONN_COMPLAINTS_SMTP``) points the pipeline at it.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.demo.airflow_local import free_port

FROM_EMAIL = "complaints-pipeline@district.example"


def _slug(text: str) -> str:
    """A file name from a subject: Thai kept whole (its vowel marks are not \\w), separators replaced."""
    return re.sub(r'[\s/\\:*?"<>|]+', "-", text).strip("-.")[:80] or "message"


@dataclass
class MailSink:
    """Start with ``with MailSink(folder) as sink``; ``sink.saved`` lists the ``.eml`` files written."""

    folder: Path
    port: int = 0
    saved: list[Path] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self._lock:
            number = len(self.saved) + 1
            path = self.folder / f"{number:03d}-{_slug(str(message['subject'] or ''))}.eml"
            path.write_bytes(envelope.original_content)
            self.saved.append(path)
        return "250 Message accepted for delivery"

    def connection(self) -> dict[str, Any]:
        """The ``complaints_smtp`` connection (JSON form): a plain local relay, no TLS, no login."""
        return {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": self.port,
            "extra": {"from_email": FROM_EMAIL, "disable_ssl": True, "disable_tls": True, "timeout": 10},
        }

    def connection_env(self) -> dict[str, str]:
        return {"AIRFLOW_CONN_COMPLAINTS_SMTP": json.dumps(self.connection())}

    def __enter__(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
