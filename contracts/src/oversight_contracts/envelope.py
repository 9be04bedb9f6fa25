"""One envelope for every event on the platform, in the style of CloudEvents 1.0.

Every event carries who sent it, which provider it is about (the subject, an ODS code that is
also the Kafka key, so each provider's events stay in order), and the correlation and causation
ids that let anyone follow one chain of cause and effect across the services.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from oversight_contracts.codes import OdsCode

DataT = TypeVar("DataT", bound=BaseModel)

TOPIC_PREFIX = "oversight."
DEAD_LETTER_SUFFIX = ".dlq"


class Envelope(BaseModel, Generic[DataT]):
    """The wire format of every event. Subclasses pin `type` and `data`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: str = Field(default="1.0", description="CloudEvents specification version.")
    id: UUID = Field(default_factory=uuid4, description="Unique event id; consumers de-duplicate on it.")
    type: str = Field(description="Event type including its major version.")
    source: str = Field(description="The service that produced the event.", min_length=1)
    subject: OdsCode = Field(description="ODS code of the provider the event is about; the Kafka key.")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: UUID = Field(description="Shared by every event caused by one original request.")
    causation_id: UUID | None = Field(
        default=None,
        description="Id of the event that directly caused this one (None for a request).",
    )
    data: DataT

    @classmethod
    def event_type(cls) -> str:
        """The type with its major version, e.g. ``exception_report.received.v1``.

        A change that would break an existing consumer gets a new type, and so a new topic.
        """
        default = cls.model_fields["type"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__name__} does not pin its event type")
        return default

    @classmethod
    def topic(cls) -> str:
        """Kafka topic of this event type: one topic per type and major version."""
        return TOPIC_PREFIX + cls.event_type()

    @classmethod
    def dead_letter_topic(cls) -> str:
        return cls.topic() + DEAD_LETTER_SUFFIX

    @classmethod
    def new(
        cls,
        *,
        source: str,
        subject: str,
        data: DataT,
        cause: Envelope[Any] | None = None,
        correlation_id: UUID | None = None,
    ) -> Self:
        """Build an event, inheriting correlation from its cause so chains can be followed."""
        if cause is not None:
            correlation_id = cause.correlation_id
        return cls(
            type=cls.event_type(),
            source=source,
            subject=subject,
            data=data,
            correlation_id=correlation_id or uuid4(),
            causation_id=cause.id if cause is not None else None,
        )
