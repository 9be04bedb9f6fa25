"""How notification delivers alerts outside the live stream: ``OVERSIGHT_NOTIFICATION_*``.

The SMTP server is one per deployment, so it lives here. A webhook's URL and signing secret belong
to the receiver (its subscription), so they travel with each delivery; only the client's timeout
and the retry policy shared by every channel are settings.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    """Defaults suit one machine: a local SMTP sink on 127.0.0.1:1025 that the run command starts."""

    model_config = SettingsConfigDict(env_prefix="OVERSIGHT_NOTIFICATION_", extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_from: str = "oversight-alerts@localhost"
    #: ``None`` upgrades with STARTTLS when the server offers it; ``True`` refuses a server that
    #: does not (never send credentials in clear); ``False`` never upgrades (a local sink).
    smtp_starttls: bool | None = None
    #: Log in only when both are set.
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    #: A receiver slower than this counts as a failed (retryable) attempt.
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    #: Attempts per delivery, the first included, before it is marked failed.
    delivery_attempts: int = Field(default=5, ge=1, le=20)
    #: The backoff window doubles from ``delivery_base_delay_seconds`` after each failed attempt,
    #: up to ``delivery_max_delay_seconds``; each wait is drawn at random within it (full jitter).
    delivery_base_delay_seconds: float = Field(default=1.0, ge=0)
    delivery_max_delay_seconds: float = Field(default=60.0, ge=0)
    #: How often groups due become notifications, pending ones are sent and snoozes end.
    dispatch_seconds: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _delays_ordered(self) -> NotificationSettings:
        if self.delivery_max_delay_seconds < self.delivery_base_delay_seconds:
            raise ValueError("delivery_max_delay_seconds must not be below delivery_base_delay_seconds")
        return self
