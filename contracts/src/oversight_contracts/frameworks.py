"""Framework packs: the oversight rules as versioned data, each rule naming its source paragraph.

Packs live in ``contracts/frameworks/<id>.yaml``; every service evaluates whichever is active.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from oversight_contracts.codes import ExceptionReportCategory, Theme

PACK_DIR = Path(__file__).resolve().parents[2] / "frameworks"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThemeInfo(_Rule):
    name: str
    source: str


class ExceptionReportRule(_Rule):
    theme: Theme
    source: str


class FrameworkPack(_Rule):
    id: str
    title: str
    version: int
    themes: dict[Theme, ThemeInfo]
    exception_reports: dict[ExceptionReportCategory, ExceptionReportRule]


class UnknownFramework(LookupError):
    pass


def available_packs() -> list[str]:
    return sorted(p.stem for p in PACK_DIR.glob("*.yaml"))


@cache
def load_pack(pack_id: str) -> FrameworkPack:
    path = PACK_DIR / f"{pack_id}.yaml"
    if not path.is_file():
        raise UnknownFramework(f"unknown framework {pack_id!r}; available: {available_packs()}")
    return FrameworkPack.model_validate(yaml.safe_load(path.read_text("utf-8")))
