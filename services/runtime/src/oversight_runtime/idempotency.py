"""Idempotency keys on write APIs: a retried request gets the first answer and changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from oversight_runtime.storage import IdempotencyRecord
from oversight_runtime.unit_of_work import UnitOfWork

Effect = Callable[[UnitOfWork], Awaitable[tuple[int, dict[str, Any]]]]
REPLAY_HEADER = "Idempotent-Replayed"

#: The ``Idempotency-Key`` request header every write endpoint accepts.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="Send the same key when retrying: the first answer is returned, nothing is repeated.",
    ),
]


def fingerprint(body: BaseModel) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def _replay(
    uow: UnitOfWork, principal: str, key: str, endpoint: str, request_hash: str
) -> JSONResponse | None:
    prior = await uow.session.get(IdempotencyRecord, (principal, key, endpoint))
    if prior is None:
        return None
    if prior.request_hash != request_hash:
        raise HTTPException(
            status_code=422,
            detail=[
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "you already used this Idempotency-Key for a different request body",
                    "type": "idempotency_key_reused",
                }
            ],
        )
    return JSONResponse(prior.response_body, prior.status_code, headers={REPLAY_HEADER: "true"})


async def run_idempotent(
    unit_of_work: Callable[[], Any],
    *,
    principal: str,
    key: str | None,
    endpoint: str,
    body: BaseModel,
    effect: Effect,
    on_replay: Callable[[], None] = lambda: None,
) -> JSONResponse:
    """Run ``effect`` once per (caller, key, endpoint); the record of the answer commits with the
    effect itself."""
    request_hash = fingerprint(body)
    try:
        async with unit_of_work() as uow:
            if key is not None and (replay := await _replay(uow, principal, key, endpoint, request_hash)):
                on_replay()
                return replay
            status, payload = await effect(uow)
            if key is not None:
                uow.session.add(
                    IdempotencyRecord(
                        principal=principal,
                        key=key,
                        endpoint=endpoint,
                        request_hash=request_hash,
                        status_code=status,
                        response_body=payload,
                    )
                )
        return JSONResponse(payload, status)
    except IntegrityError:
        if key is None:
            raise
        # A concurrent request with the same key won the race: answer as it did.
        async with unit_of_work() as uow:
            replay = await _replay(uow, principal, key, endpoint, request_hash)
        if replay is None:
            raise
        on_replay()
        return replay
