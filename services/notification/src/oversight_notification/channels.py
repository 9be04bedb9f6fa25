"""Channels that carry an alert notification beyond the live stream: email and a signed webhook.

A channel makes one attempt and says, by raising ``DeliveryFailed``, whether another could
succeed; retrying, and recording the outcome, is ``delivery.deliver``'s job. The delivery id is
stable across attempts and sent as the webhook's ``webhook-id`` and the email's Message-ID, so a
receiver can drop a repeat (a retry after a lost answer, a redelivered event).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Protocol

import aiosmtplib
import httpx
from standardwebhooks import Webhook

from oversight_notification.settings import NotificationSettings

#: Safe in a Message-ID's left part (dot-atom) and in a header: the id is sent verbatim in both.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
#: A 4xx that says "later", not "never" (RFC 9110: 408 Request Timeout; RFC 6585: 429).
_RETRYABLE_4XX = frozenset({408, 429})
_USER_AGENT = "oversight-notification"


@dataclass(frozen=True)
class Delivery:
    """One notification for one receiver on one channel.

    ``receiver`` is an email address or a webhook URL; ``signing_secret`` (``whsec_`` and base64)
    is the webhook receiver's own, from its subscription, and kept out of ``repr`` and logs.
    """

    delivery_id: str
    receiver: str
    subject: str
    text: str
    payload: dict[str, Any]
    signing_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if len(self.delivery_id) > 200 or not _DELIVERY_ID.fullmatch(self.delivery_id):
            raise ValueError(f"delivery id {self.delivery_id!r} must be letters, digits, '_', '-' and dots")


class DeliveryFailed(Exception):
    """One attempt failed; ``retryable`` says whether another attempt could succeed."""

    def __init__(self, retryable: bool, detail: str) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.detail = detail


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    async def send(self, delivery: Delivery) -> None:
        """Make one attempt; raise ``DeliveryFailed`` if it did not reach the receiver."""


def build_email(delivery: Delivery, sender: str, now: datetime) -> EmailMessage:
    """A plain-text email; raises ``ValueError`` for a header that cannot be sent (a line break)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = delivery.receiver
    message["Subject"] = " ".join(delivery.subject.split())  # an alert title may hold line breaks
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{delivery.delivery_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(delivery.text)
    return message


class EmailChannel:
    """Sends through the deployment's SMTP server, one connection per attempt (alerts are few)."""

    name = "email"

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings

    async def send(self, delivery: Delivery) -> None:
        settings = self._settings
        try:
            message = build_email(delivery, settings.smtp_from, datetime.now(UTC))
        except ValueError as error:
            raise DeliveryFailed(False, f"cannot build the email: {error}") from error
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        login = settings.smtp_username is not None and password is not None
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username if login else None,
                password=password if login else None,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [recipient.code for recipient in refused.recipients]
            raise DeliveryFailed(any(code < 500 for code in codes), f"SMTP refused {refused}") from refused
        except aiosmtplib.SMTPResponseException as error:  # 4xx: try later; 5xx: never
            raise DeliveryFailed(error.code < 500, f"SMTP {error.code}: {error.message}") from error
        except aiosmtplib.SMTPNotSupported as error:  # STARTTLS or AUTH required but not offered
            raise DeliveryFailed(False, f"SMTP server cannot: {error}") from error
        except (aiosmtplib.SMTPException, OSError) as error:  # down, disconnected, timed out
            raise DeliveryFailed(True, f"SMTP {type(error).__name__}: {error}") from error


def _status_failure(response: httpx.Response) -> DeliveryFailed | None:
    """None for a 2xx; a 5xx, 408 or 429 may pass later; any other answer never will."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    retryable = status >= 500 or status in _RETRYABLE_4XX
    return DeliveryFailed(retryable, f"receiver answered {status}: {response.text[:200]}")


class WebhookChannel:
    """POSTs the payload as JSON, signed by the Standard Webhooks scheme with the receiver's secret.

    The signature covers the id, a fresh timestamp and the exact body bytes; receivers reject
    timestamps more than five minutes off, so each attempt is signed anew. Pass ``client`` to
    share a connection pool; otherwise each attempt opens its own.
    """

    name = "webhook"

    def __init__(self, settings: NotificationSettings, *, client: httpx.AsyncClient | None = None) -> None:
        self._timeout = settings.webhook_timeout_seconds
        self._client = client

    def signed_request(self, delivery: Delivery, now: datetime) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one attempt; raises ``DeliveryFailed`` if it cannot be signed."""
        if not delivery.signing_secret:
            raise DeliveryFailed(False, "the webhook receiver has no signing secret")
        try:
            body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
            signer = Webhook(delivery.signing_secret)
        except Exception as error:  # not JSON, or a secret that is not base64
            raise DeliveryFailed(False, f"cannot sign the webhook: {type(error).__name__}") from error
        sent_at = datetime.fromtimestamp(int(now.timestamp()), UTC)  # the header has whole seconds
        headers = {
            "webhook-id": delivery.delivery_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signer.sign(delivery.delivery_id, sent_at, body),
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
        }
        return body.encode(), headers

    async def send(self, delivery: Delivery) -> None:
        body, headers = self.signed_request(delivery, datetime.now(UTC))
        try:
            if self._client is not None:
                response = await self._client.post(
                    delivery.receiver, content=body, headers=headers, timeout=self._timeout
                )
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.post(delivery.receiver, content=body, headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise DeliveryFailed(False, f"bad webhook URL: {error}") from error
        except httpx.TimeoutException as error:
            raise DeliveryFailed(True, f"no answer within {self._timeout}s") from error
        except httpx.TransportError as error:
            raise DeliveryFailed(True, f"{type(error).__name__}: {error}") from error
        failure = _status_failure(response)
        if failure is not None:
            raise failure
