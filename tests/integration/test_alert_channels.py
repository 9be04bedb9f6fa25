"""Email and webhook channels against real local receivers, with retries on a real clock.

The SMTP server is aiosmtpd (a dev dependency, imported plainly: if it is missing these tests
error, they never skip); the webhook receiver is a stdlib HTTP server that checks each request's
Standard Webhooks signature with the library's own ``verify``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from oversight_notification.channels import Delivery, EmailChannel, WebhookChannel
from oversight_notification.delivery import DeliveryOutcome, deliver
from oversight_notification.settings import NotificationSettings
from tests.support.receivers import Inbox, free_port, new_secret, smtp_server, webhook_receiver

SENDER = "Oversight alerts <alerts@oversight.nhs.invalid>"


def settings(**overrides: Any) -> NotificationSettings:
    return NotificationSettings(**{"smtp_from": SENDER, "webhook_timeout_seconds": 2.0, **overrides})


# --- a real SMTP server -------------------------------------------------------------------------


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"alerts", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as running:
        yield running


# --- a real webhook receiver ----------------------------------------------------------------------


def webhook(url: str, secret: str, delivery_id: str = "alert-42.QWO.webhook") -> Delivery:
    payload = {"type": "alert.issued", "data": {"provider": "RAX", "title": "Cause for concern"}}
    return Delivery(delivery_id, url, "Cause for concern", "RAX raised a cause for concern", payload, secret)


async def send(channel: Any, delivery: Delivery, attempts: int) -> DeliveryOutcome:
    """Retry on the real clock, with short waits."""
    return await deliver(channel, delivery, attempts=attempts, base_delay=0.01, max_delay=0.05)


# --- email --------------------------------------------------------------------------------------


async def test_an_email_reaches_a_real_smtp_server_with_its_headers_and_body(inbox: Inbox) -> None:
    delivery = Delivery(
        "alert-7.QWO.email",
        "ics-team@qwo.nhs.invalid",
        "Barking (RAX): cause for concern\nunder quality",
        "Exception report received: £1.2m overspend.\nSee the live stream.",
        {"alert": 7},
    )
    outcome = await send(EmailChannel(settings(smtp_port=inbox.port)), delivery, attempts=3)
    assert (outcome.channel, outcome.status, outcome.attempts) == ("email", "delivered", 1)
    [(mail_from, rcpt_tos, message)] = inbox.messages
    assert (mail_from, rcpt_tos) == ("alerts@oversight.nhs.invalid", ["ics-team@qwo.nhs.invalid"])
    assert message["From"] == SENDER
    assert message["To"] == "ics-team@qwo.nhs.invalid"
    assert message["Subject"] == "Barking (RAX): cause for concern under quality"
    assert message["Message-ID"] == "<alert-7.QWO.email@oversight.nhs.invalid>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    assert message.get_content_type() == "text/plain"
    assert message.get_content().rstrip("\n") == delivery.text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_login_uses_the_configured_credentials_and_a_wrong_password_is_not_retried() -> None:
    auth = {"authenticator": _authenticate, "auth_required": True, "auth_require_tls": False}
    with smtp_server(**auth) as inbox:
        delivery = Delivery("alert-8.QWO.email", "ics@qwo.nhs.invalid", "s", "t", {})
        good = settings(smtp_port=inbox.port, smtp_username="alerts", smtp_password="s3cret")
        bad = settings(smtp_port=inbox.port, smtp_username="alerts", smtp_password="wrong")
        assert (await send(EmailChannel(good), delivery, attempts=3)).status == "delivered"
        refused = await send(EmailChannel(bad), delivery, attempts=3)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert refused.error is not None and "535" in refused.error
    assert len(inbox.messages) == 1


async def test_a_refused_mailbox_is_permanent_and_a_busy_one_is_retried(inbox: Inbox) -> None:
    inbox.refuse = {"gone@x.invalid": ["550 no such user"], "busy@x.invalid": ["451 try later"] * 2}
    channel = EmailChannel(settings(smtp_port=inbox.port))
    gone = await send(channel, Delivery("a-1", "gone@x.invalid", "s", "t", {}), attempts=5)
    busy = await send(channel, Delivery("a-2", "busy@x.invalid", "s", "t", {}), attempts=5)
    assert (gone.status, gone.attempts) == ("failed", 1)
    assert (busy.status, busy.attempts) == ("delivered", 3)
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["busy@x.invalid"]]


async def test_an_smtp_server_that_is_down_ends_failed_without_raising() -> None:
    channel = EmailChannel(settings(smtp_port=free_port(), smtp_timeout_seconds=2.0))
    outcome = await send(channel, Delivery("a-3", "ics@x.invalid", "s", "t", {}), attempts=3)
    assert (outcome.status, outcome.attempts) == ("failed", 3)
    assert outcome.error is not None and "SMTP" in outcome.error


# --- webhook --------------------------------------------------------------------------------------


async def test_a_webhook_is_signed_so_the_receiver_verifies_it_with_the_library() -> None:
    secret = new_secret()
    with webhook_receiver(secret) as (url, receiver):
        delivery = webhook(url, secret)
        outcome = await send(WebhookChannel(settings()), delivery, attempts=3)
    assert (outcome.channel, outcome.status, outcome.attempts) == ("webhook", "delivered", 1)
    [request] = receiver.requests
    assert request.verified and request.payload == delivery.payload
    assert request.headers["webhook-id"] == delivery.delivery_id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 10
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"


async def test_a_receiver_failing_twice_gets_it_once_on_the_third_attempt_with_the_same_id() -> None:
    secret = new_secret()
    with webhook_receiver(secret, [500, 500]) as (url, receiver):
        delivery = webhook(url, secret)
        outcome = await send(WebhookChannel(settings()), delivery, attempts=5)
    assert (outcome.status, outcome.attempts) == ("delivered", 3)
    assert [r.answered for r in receiver.requests] == [500, 500, 200]
    assert all(r.verified for r in receiver.requests)
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.delivery_id}
    assert len(receiver.delivered) == 1


async def test_a_receiver_always_failing_ends_failed_after_the_limit() -> None:
    secret = new_secret()
    with webhook_receiver(secret, [500] * 10) as (url, receiver):
        outcome = await send(WebhookChannel(settings()), webhook(url, secret), attempts=4)
    assert (outcome.status, outcome.attempts) == ("failed", 4)
    assert outcome.error is not None and outcome.error.startswith("receiver answered 500")
    assert len(receiver.requests) == 4 and receiver.delivered == []


@pytest.mark.parametrize(("status", "attempts"), [(400, 1), (404, 1), (410, 1), (408, 2), (429, 2), (503, 2)])
async def test_a_4xx_is_not_retried_but_408_429_and_5xx_are(status: int, attempts: int) -> None:
    secret = new_secret()
    with webhook_receiver(secret, [status]) as (url, receiver):
        outcome = await send(WebhookChannel(settings()), webhook(url, secret), attempts=5)
    assert outcome.attempts == attempts == len(receiver.requests)
    assert outcome.status == ("failed" if attempts == 1 else "delivered")


async def test_a_signature_made_with_another_secret_is_rejected_by_the_receiver() -> None:
    with webhook_receiver(new_secret()) as (url, receiver):
        outcome = await send(WebhookChannel(settings()), webhook(url, new_secret()), attempts=3)
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert [(r.verified, r.answered) for r in receiver.requests] == [(False, 401)]


async def test_a_slow_receiver_times_out_and_is_retried() -> None:
    secret = new_secret()
    with webhook_receiver(secret, delay=1.0) as (url, receiver):
        channel = WebhookChannel(settings(webhook_timeout_seconds=0.2))
        outcome = await send(channel, webhook(url, secret), attempts=2)
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert outcome.error == "no answer within 0.2s"
    assert len(receiver.requests) == 2


async def test_an_unreachable_receiver_or_a_bad_url_ends_failed_without_raising() -> None:
    secret, channel = new_secret(), WebhookChannel(settings())
    refused = await send(channel, webhook(f"http://127.0.0.1:{free_port()}/hook", secret), attempts=3)
    bad_url = await send(channel, webhook("ftp://example.invalid/hook", secret), attempts=3)
    no_secret = await send(channel, webhook("http://127.0.0.1:9/hook", ""), attempts=3)
    assert (refused.status, refused.attempts) == ("failed", 3)
    assert (bad_url.status, bad_url.attempts) == ("failed", 1)
    assert (no_secret.status, no_secret.attempts) == ("failed", 1)


async def test_a_failing_channel_does_not_hold_up_the_others(inbox: Inbox) -> None:
    """Deliveries run side by side: an SMTP server that is down fails alone."""
    secret = new_secret()
    down = EmailChannel(settings(smtp_port=free_port()))
    up = EmailChannel(settings(smtp_port=inbox.port))
    with webhook_receiver(secret) as (url, receiver):
        outcomes = await asyncio.gather(
            deliver(
                down, Delivery("a-9", "x@x.invalid", "s", "t", {}), attempts=3, base_delay=0.2, max_delay=0.2
            ),
            send(up, Delivery("a-10", "y@x.invalid", "s", "t", {}), attempts=3),
            send(WebhookChannel(settings()), webhook(url, secret), attempts=3),
        )
    assert [o.status for o in outcomes] == ["failed", "delivered", "delivered"]
    assert len(inbox.messages) == 1 and len(receiver.delivered) == 1
