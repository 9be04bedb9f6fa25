"""Input that breaks a domain rule: rejected with the same shape as FastAPI's 422 errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Problem:
    loc: tuple[str | int, ...]
    msg: str
    type: str


class Rejected(Exception):
    """Raised by pure domain code; the HTTP layer turns it into 422 naming each failing field."""

    status_code = 422

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems

    @classmethod
    def field(cls, loc: tuple[str | int, ...], msg: str, type_: str) -> Rejected:
        return cls(Problem(loc, msg, type_))

    def detail(self) -> list[dict[str, object]]:
        return [{"loc": list(p.loc), "msg": p.msg, "type": p.type} for p in self.problems]


class Forbidden(Rejected):
    """A domain rule says this user may not take this act (their role or organisation): the HTTP
    layer answers 403, with the same detail shape as a 422, and nothing changes."""

    status_code = 403


#: The most of a bad input an error answer shows: enough to recognise it, never the whole input.
EXCERPT_CHARS = 80


def printable(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with anything that cannot be encoded (a lone
    surrogate) shown as an escape, so an error answer can always be sent."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def _excerpt(value: object) -> object:
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value if not isinstance(value, int) or abs(value) < 2**63 else printable(str(value))
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, str):
        return printable(value)
    return None  # an object or a list: too long to echo usefully


def safe_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, object]]:
    """Validation errors fit to send back: loc, msg and type, and a short excerpt of a bad
    scalar input (never a whole object, never text that cannot be encoded, never NaN or inf)."""
    safe: list[dict[str, object]] = []
    for error in errors:
        problem: dict[str, object] = {
            "loc": [p if isinstance(p, int) else printable(str(p)) for p in error.get("loc", ())],
            "msg": printable(str(error.get("msg", "")), 300),
            "type": str(error.get("type", "invalid")),
        }
        if error.get("type") != "missing" and (excerpt := _excerpt(error.get("input"))) is not None:
            problem["input"] = excerpt
        safe.append(problem)
    return safe
