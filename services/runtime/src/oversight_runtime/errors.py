"""Input that breaks a domain rule: rejected with the same shape as FastAPI's 422 errors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    loc: tuple[str | int, ...]
    msg: str
    type: str


class Rejected(Exception):
    """Raised by pure domain code; the HTTP layer turns it into 422 naming each failing field."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems

    @classmethod
    def field(cls, loc: tuple[str | int, ...], msg: str, type_: str) -> Rejected:
        return cls(Problem(loc, msg, type_))

    def detail(self) -> list[dict[str, object]]:
        return [{"loc": list(p.loc), "msg": p.msg, "type": p.type} for p in self.problems]
