"""Real receivers for alert deliveries: an SMTP server (aiosmtpd) that keeps what it is sent,
and an HTTP receiver that verifies each Standard Webhooks signature with the library and answers
with scripted statuses. Used by the channel tests and the end-to-end alert tests."""

from __future__ import annotations

import base64
import email
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks import Webhook, WebhookVerificationError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@dataclass
class Inbox:
    """aiosmtpd handler: keeps each message; ``refuse`` scripts RCPT answers per address."""

    port: int = 0
    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: dict[str, list[str]] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        answers = self.refuse.get(address)
        if answers:
            return answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@contextmanager
def smtp_server(**smtp_options: Any) -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **smtp_options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class Received:
    headers: dict[str, str]
    payload: Any
    verified: bool
    answered: int


class Receiver:
    """Answers each POST with the next scripted status (then 200), after verifying its signature.

    A request whose signature does not verify is answered 401 whatever the script says.
    """

    def __init__(
        self,
        secret: str,
        statuses: Sequence[int],
        delay: float = 0.0,
        scripted: Callable[[Any], bool] = lambda _payload: True,
    ) -> None:
        self.secret, self.statuses, self.delay = secret, list(statuses), delay
        #: Which payloads the scripted statuses answer; others get 200 (a shared platform sends
        #: other tests' notifications to the same receiver).
        self.scripted = scripted
        self.requests: list[Received] = []
        self._lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        try:
            payload, verified = Webhook(self.secret).verify(body, headers), True
        except WebhookVerificationError:
            payload, verified = None, False
        with self._lock:
            script = self.statuses if verified and self.scripted(payload) else []
            status = (script.pop(0) if script else 200) if verified else 401
            self.requests.append(
                Received({k.lower(): v for k, v in headers.items()}, payload, verified, status)
            )
        time.sleep(self.delay)
        return status

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]


@contextmanager
def webhook_receiver(
    secret: str,
    statuses: Sequence[int] = (),
    delay: float = 0.0,
    scripted: Callable[[Any], bool] = lambda _payload: True,
) -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver(secret, statuses, delay, scripted)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            status = receiver.handle(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/oversight", receiver
    finally:
        server.shutdown()
        server.server_close()
