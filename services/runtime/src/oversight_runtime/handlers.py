"""Event handlers: what a service does with each event it consumes.

A handler takes the unit of work and one event. The consumer (``consumer``) runs it in the
transaction of its batch, which also records the event id in the inbox: a redelivered event finds
its id there and changes nothing, so at-least-once delivery is exactly-once in effect.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from oversight_contracts import Envelope
from oversight_runtime.unit_of_work import UnitOfWork

E = TypeVar("E", bound=Envelope[Any])
Handler = Callable[[UnitOfWork, Any], Awaitable[None]]


@dataclass(frozen=True)
class HandlerRegistration:
    """One handler and the event types it takes: one type, or the versions of one event."""

    event_types: tuple[type[Envelope[Any]], ...]
    name: str
    handle: Handler

    @property
    def topics(self) -> list[str]:
        return [e.topic() for e in self.event_types]


class EventHandlers:
    """The events a service consumes and what it does with each."""

    def __init__(self) -> None:
        self.registrations: list[HandlerRegistration] = []

    def on(
        self, *event_types: type[Envelope[Any]]
    ) -> Callable[[Callable[[UnitOfWork, E], Awaitable[None]]], Callable[[UnitOfWork, E], Awaitable[None]]]:
        """Register a handler for one event type, or for several versions of one event (each on
        its own topic, read by one subscriber): a consumer reads a new version and the old one
        while both are on the broker, so the producer can switch without anything being missed."""

        def register(
            func: Callable[[UnitOfWork, E], Awaitable[None]],
        ) -> Callable[[UnitOfWork, E], Awaitable[None]]:
            self.registrations.append(HandlerRegistration(tuple(event_types), func.__name__, func))
            return func

        return register


def typed_consumer(
    event_types: tuple[type[Envelope[Any]], ...], consume: Callable[[Any], Awaitable[None]]
) -> Callable[[Any], Awaitable[None]]:
    """Give a consumer the event model as its parameter type (a union of the versions it reads,
    told apart by their ``type``), so AsyncAPI documents each handler's channel with its events.

    Documentation only: the running consumer decodes each record itself (``consumer``).
    """
    event_type: Any = event_types[0] if len(event_types) == 1 else Union[event_types]  # noqa: UP007

    async def consumer(event: Any) -> None:
        await consume(event)

    consumer.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("event", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=event_type)],
        return_annotation=None,
    )
    consumer.__annotations__ = {"event": event_type, "return": None}
    return consumer
