"""The support offers catalogue: versioned data, validated when loaded, and the offers for a need.

Regional teams build a package for each support need from support "directly provided" by regional
or national teams, from the local health system and from other providers (seed 003 paras 32-35).
What is on offer changes more often than the rules, so it lives in data (``offers-2026.yaml``) as
the framework packs do, and a typo fails loudly when the catalogue is loaded, naming the offer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from oversight_contracts import Theme
from oversight_contracts.frameworks import TriggerKind, available_packs, load_pack

CATALOGUE_FILE = files("oversight_support_coordination") / "offers-2026.yaml"

#: A provider with no segment decision yet is treated as segment 2 (the 2021/22 default segment,
#: domain brief); offers_for then leaves mandated support out.
DEFAULT_SEGMENT = 2
#: Mandated support is for segments 3 and 4 (Table 2), and 5 (intensive support) under NOF 2025/26.
MANDATED_FROM_SEGMENT = 3

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]


class OfferLevel(StrEnum):
    """The level of support (Table 2): who may receive it, and whether the provider may decline."""

    UNIVERSAL = "universal"
    TARGETED = "targeted"
    MANDATED = "mandated"


class OfferedBy(StrEnum):
    """Where the support comes from (paras 33-34)."""

    REGIONAL_TEAM = "regional_team"
    NATIONAL_PROGRAMME = "national_programme"
    ICS_PARTNERS = "ics_partners"
    PEER_PROVIDER = "peer_provider"


#: The order offers_for lists levels in: the regional team's mandated support first, then what
#: is agreed with the provider, then what is open to all.
LEVEL_ORDER = {OfferLevel.MANDATED: 0, OfferLevel.TARGETED: 1, OfferLevel.UNIVERSAL: 2}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Offer(_Data):
    id: Slug
    name: str = Field(min_length=1)
    summary: str = ""
    themes: tuple[Theme, ...] = Field(min_length=1)
    level: OfferLevel
    provided_by: OfferedBy
    typical_weeks: int = Field(strict=True, gt=0)
    #: Trigger ids or kinds of the framework packs that this offer suits.
    triggers: tuple[str, ...] = ()
    source: str = Field(min_length=1, description="The paragraph of the sources the offer comes from.")

    @field_validator("themes", "triggers")
    @classmethod
    def _no_repeats(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(values)) != len(values):
            raise ValueError("lists a value twice")
        return values

    @field_validator("triggers")
    @classmethod
    def _known_triggers(cls, triggers: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        known: Collection[str] | None = (info.context or {}).get("known_triggers")
        unknown = sorted(set(triggers) - set(known)) if known is not None else []
        if unknown:
            raise ValueError(f"names triggers no framework pack has: {unknown}")
        return triggers

    def suits(self, triggers: Collection[str]) -> bool:
        return not set(self.triggers).isdisjoint(triggers)


class OffersCatalogue(_Data):
    id: str = Field(min_length=1)
    version: int = Field(strict=True, ge=1)
    source: str = Field(min_length=1)
    offers: tuple[Offer, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> OffersCatalogue:
        seen: set[str] = set()
        for offer in self.offers:
            if offer.id in seen:
                raise ValueError(f"offer {offer.id!r} is listed twice: offer ids must be unique")
            seen.add(offer.id)
        return self

    def offer(self, offer_id: str) -> Offer:
        try:
            return next(o for o in self.offers if o.id == offer_id)
        except StopIteration:
            raise KeyError(f"no offer {offer_id!r} in catalogue {self.id} v{self.version}") from None


class CatalogueProblem(ValueError):
    """The catalogue file breaks a rule; the message names the file and each offer at fault."""


def framework_triggers() -> frozenset[str]:
    """What an offer may name as a trigger: any trigger id of a framework pack, or a trigger kind."""
    ids = {trigger for pack in available_packs() for trigger in load_pack(pack).triggers}
    return frozenset(ids | {kind.value for kind in TriggerKind})


def load_catalogue(
    path: Path | Traversable = CATALOGUE_FILE, *, known_triggers: Collection[str] | None = None
) -> OffersCatalogue:
    """The catalogue at ``path``, validated; triggers are checked against ``known_triggers``
    (by default those of every framework pack), so a misspelt trigger cannot silently never match."""
    raw = yaml.safe_load(path.read_text("utf-8"))
    known = framework_triggers() if known_triggers is None else known_triggers
    try:
        return OffersCatalogue.model_validate(raw, context={"known_triggers": known})
    except ValidationError as error:
        problems = "; ".join(_explain(e, raw) for e in error.errors())
        raise CatalogueProblem(f"offers catalogue {path}: {problems}") from None


def _explain(error: Mapping[str, Any], raw: object) -> str:
    """One validation error, naming the offer by id (and position) rather than by index alone."""
    loc = tuple(error["loc"])
    msg = str(error["msg"]).removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "offers" and isinstance(loc[1], int):
        field = ".".join(map(str, loc[2:])) or "entry"
        return f"offer {_offer_id(raw, loc[1])!r} (number {loc[1] + 1}) {field}: {msg}"
    return f"{'.'.join(map(str, loc)) or 'catalogue'}: {msg}"


def _offer_id(raw: object, index: int) -> object:
    offers = raw.get("offers") if isinstance(raw, Mapping) else None
    if isinstance(offers, Sequence) and index < len(offers) and isinstance(offers[index], Mapping):
        return offers[index].get("id", "without an id")
    return "without an id"


def offers_for(
    catalogue: OffersCatalogue,
    theme: Theme,
    trigger: str | Collection[str] | None = None,
    segment: int | None = None,
) -> list[Offer]:
    """The offers for a need under ``theme``, best suited first.

    ``trigger`` is the need's trigger id and/or kind (one string or several): offers that name any
    of them come first. Mandated offers are only for a provider in segment 3 or worse (Table 2);
    a provider with no segment yet counts as segment 2. A segment-1 provider with a new need keeps
    its segment until the quarterly review (para 31) yet still gets a package for the need
    (para 32), so it sees the same targeted offers as segment 2. Within the suited and the rest:
    mandated, targeted, then universal, then by id, so the list is the same every time.
    """
    segment = DEFAULT_SEGMENT if segment is None else segment
    if not 1 <= segment <= 5:
        raise ValueError(f"segment {segment} is not a segment (1-4, or 5 under NOF 2025/26)")
    wanted = {trigger} if isinstance(trigger, str) else set(trigger or ())
    eligible = [
        offer
        for offer in catalogue.offers
        if theme in offer.themes and (offer.level != OfferLevel.MANDATED or segment >= MANDATED_FROM_SEGMENT)
    ]
    return sorted(eligible, key=lambda o: (not o.suits(wanted), LEVEL_ORDER[o.level], o.id))
