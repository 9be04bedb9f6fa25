"""Service settings, read from ``OVERSIGHT_*`` environment variables with embedded defaults.

The defaults run the whole platform on one machine (broker on 127.0.0.1:9092, a SQLite file per
service under ``var/``); deployments override them through the environment only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from oversight_runtime.access import ClaimMapping

#: The HTTP port each service listens on by default; one place so the runner, the README,
#: docker-compose and k8s agree.
DEFAULT_PORTS: dict[str, int] = {
    "ingest": 8001,
    "metrics": 8002,
    "segmentation": 8003,
    "support-coordination": 8004,
    "notification": 8005,
}


#: The local OpenID Connect provider the run command and the tests start (deploy/oidc).
DEFAULT_ISSUER = "http://127.0.0.1:8090/oversight"


class AuthSettings(BaseSettings):
    """How access tokens are verified and read: ``OVERSIGHT_AUTH_*``.

    Point ``issuer`` at any OpenID Connect provider (NHS CIS2, an organisation's Entra ID); its
    discovery document gives the JWKS. The claim settings say where its tokens carry the user id,
    name, organisation ODS code and roles; ``role_map`` turns its role values into the platform's.
    """

    model_config = SettingsConfigDict(env_prefix="OVERSIGHT_AUTH_", extra="ignore")

    issuer: str = DEFAULT_ISSUER
    audience: str = "oversight-platform"
    #: Signature algorithms accepted (never ``none``, never a symmetric one: keys come from JWKS).
    algorithms: list[Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]] = [
        "RS256",
        "ES256",
    ]
    leeway_seconds: float = Field(default=30, ge=0, le=300)
    #: How long a fetched JWKS is trusted before it is fetched again.
    jwks_cache_seconds: float = Field(default=3600, gt=0)
    #: An unknown key id fetches the JWKS again, but not more often than this.
    jwks_min_refresh_seconds: float = Field(default=10, ge=0)
    http_timeout_seconds: float = Field(default=5, gt=0)
    user_id_claim: str = "sub"
    name_claim: str = "name"
    organisation_claim: str = "org"
    roles_claim: str = "roles"
    role_map: dict[str, str] = Field(default_factory=dict)

    def claim_mapping(self) -> ClaimMapping:
        return ClaimMapping(
            user_id=self.user_id_claim,
            name=self.name_claim,
            organisation=self.organisation_claim,
            roles=self.roles_claim,
            role_map=self.role_map,
        )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OVERSIGHT_", extra="ignore")

    service_name: str = Field(description="Set by each service's entry point, not by users.")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default is a SQLite file under var/."
    )
    data_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    log_level: str = "INFO"
    #: The active framework pack (``contracts/frameworks/<id>.yaml``).
    framework: str = "nof-2019"
    #: Write finished spans as JSON lines here (handy locally and in tests); unset means no export.
    trace_file: Path | None = None
    #: Organisation registry file; unset means the one shipped with the runtime.
    reference_data: Path | None = None
    #: Attempts at one message before it is parked on its dead-letter topic.
    max_delivery_attempts: int = Field(default=3, ge=1, le=20)
    retry_backoff_seconds: float = Field(default=0.2, ge=0)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    #: Most rows the relay sends at once (awaited together, marked published in one statement).
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    #: Most records a consumer takes in one batch (one transaction), and how long it waits for
    #: the first when there are none (the longest a record arriving at idle can wait).
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    consumer_batch_wait_ms: int = Field(default=50, ge=1, le=5_000)
    lag_poll_seconds: float = Field(default=5.0, gt=0)
    #: Published outbox rows, inbox rows (events already handled) and idempotency keys older
    #: than this are purged. It must exceed the broker's log retention (Kafka's default is 7
    #: days): an event the broker could still deliver again (a group reset to the earliest
    #: offset, a replay) must still be in the inbox, or it would be applied twice. Idempotency
    #: keys are honoured this long too.
    retention_days: float = Field(default=30, gt=0)
    #: How often each service purges what is older than ``retention_days``.
    purge_interval_seconds: float = Field(default=3600, gt=0)
    #: How often a service's periodic jobs run (metrics: the daily trigger review sweep).
    periodic_job_seconds: float = Field(default=600.0, gt=0)
    #: How often a service's daily jobs run, each on its own schedule (``PeriodicJob``;
    #: support-coordination: plan items past their due date). Shorter in a demo or a test.
    daily_job_seconds: float = Field(default=86_400.0, gt=0)
    #: The largest request body a route takes unless it says otherwise (a bulk route may allow
    #: more); a larger one is refused with 413 before it is read into memory.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    #: A client must send a request's headers, and each part of its body, within this long.
    client_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Live streams (server-sent events) open at once: per signed-in user, and in all.
    max_streams_per_user: int = Field(default=3, ge=1)
    max_streams: int = Field(default=100, ge=1)
    #: How long the relay's producer waits for the broker before a send fails (and is retried).
    kafka_request_timeout_ms: int = Field(default=30_000, ge=1_000)
    #: A relay unable to publish, or a consumer stalled on a transient failure, for longer than
    #: this makes ``/readyz`` answer 503.
    unready_after_seconds: float = Field(default=60.0, gt=0)
    #: Access tokens: read from ``OVERSIGHT_AUTH_*``.
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = (self.data_dir / f"{self.service_name}.db").resolve()
        return f"sqlite+aiosqlite:///{path}"

    @property
    def resolved_http_port(self) -> int:
        return self.http_port or DEFAULT_PORTS.get(self.service_name, 8000)

    @property
    def consumer_group(self) -> str:
        """One consumer group per service: every replica shares the work, each event once."""
        return f"oversight-{self.service_name}"
