"""Alert routes and inhibition rules as validated data (``routes-2026.yaml``), free of I/O.

The shape is Alertmanager's (``dispatch/route.go``, ``inhibit/inhibit.go``), read for its ideas:
a tree of routes, each with matchers, receivers and grouping options that children inherit; a
depth-first match where the first matching child wins unless it says ``continue``, and a node no
child matches is itself the match. Receivers name whom, relative to the alert's provider: its
ICBs, its region, the trust itself, or a named team of an organisation. Inhibition rules mute an
alert (the target) while a fact about its provider holds (the source: a segment, a package in
delivery) and the labels named in ``equal`` agree. Every route and rule names its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from oversight_runtime.reference import Provider

#: Labels an alert carries (``facts.AlertFacts.labels``), and a provider fact has (inhibition).
LABELS = frozenset({"alert_type", "severity", "provider", "theme", "icb", "region", "segment", "state"})
#: Receivers relative to the provider; ``team:<ODS>:<name>`` names a team of an organisation.
RELATIVE = ("provider_icbs", "provider_region", "provider_itself")
_DURATION = re.compile(r"^(\d+)(s|m|h)$")
_TEAM = re.compile(r"^team:([A-Z0-9]{3,5}):[a-z0-9-]{1,50}$")


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a duration like 30s, 5m or 2h")
        amount, unit = int(found[1]), found[2]
        return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600}[unit])
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Matchers = dict[str, str | list[str]]


def _check_labels(matchers: Mapping[str, Any], where: str) -> None:
    unknown = set(matchers) - LABELS
    if unknown:
        raise ValueError(f"{where} matches unknown labels {sorted(unknown)}; known: {sorted(LABELS)}")


def matches(matchers: Mapping[str, str | Sequence[str]], labels: Mapping[str, str | tuple[str, ...]]) -> bool:
    """Every matcher holds: the label's value (any of them, for a many-valued label such as
    ``icb``) is the matcher's value or one of its values."""
    for name, wanted in matchers.items():
        allowed = {wanted} if isinstance(wanted, str) else set(wanted)
        have = labels.get(name, "")
        values = {have} if isinstance(have, str) else set(have)
        if allowed.isdisjoint(values):
            return False
    return True


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouteSpec(_Data):
    """One node as written; options left out are inherited from the parent."""

    name: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1)
    matchers: Matchers = {}
    receivers: list[str] | None = None
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    continue_: bool = Field(default=False, alias="continue")
    routes: list[RouteSpec] = []

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _check_labels(self.matchers, f"route {self.name!r}")
        for receiver in self.receivers or ():
            if receiver not in RELATIVE and not _TEAM.match(receiver):
                raise ValueError(
                    f"route {self.name!r}: receiver {receiver!r} is not one of {', '.join(RELATIVE)} "
                    "or team:<ODS code>:<name>"
                )
        _check_labels(dict.fromkeys(self.group_by or ()), f"route {self.name!r} group_by")
        return self


class Route(_Data):
    """A node with every option resolved (its own, else inherited)."""

    name: str
    source: str
    matchers: Matchers
    receivers: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    continue_: bool
    routes: tuple[Route, ...]


class InhibitRule(_Data):
    """While a provider fact matching ``source_matchers`` holds, alerts matching
    ``target_matchers`` whose ``equal`` labels agree with the fact are muted."""

    name: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1)
    source_matchers: Matchers
    target_matchers: Matchers
    equal: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        for part in (self.source_matchers, self.target_matchers, dict.fromkeys(self.equal)):
            _check_labels(part, f"inhibition {self.name!r}")
        return self


class RoutingFile(_Data):
    version: str
    route: RouteSpec
    inhibitions: list[InhibitRule] = []

    @model_validator(mode="after")
    def _root_complete(self) -> Self:
        root = self.route
        missing = [
            name
            for name in ("receivers", "group_by", "group_wait", "group_interval")
            if getattr(root, name) is None
        ]
        if missing:
            raise ValueError(f"the root route must set {', '.join(missing)}: children inherit them")
        if root.matchers:
            raise ValueError("the root route matches every alert: give it no matchers")
        return self


def resolve(spec: RouteSpec, parent: Route | None = None) -> Route:
    """``spec`` with what it leaves out taken from ``parent``."""

    def pick(name: str) -> Any:
        own = getattr(spec, name)
        return own if own is not None else getattr(parent, name)

    node = Route(
        name=spec.name,
        source=spec.source,
        matchers=spec.matchers,
        receivers=tuple(pick("receivers")),
        group_by=tuple(pick("group_by")),
        group_wait=pick("group_wait"),
        group_interval=pick("group_interval"),
        continue_=spec.continue_,
        routes=(),
    )
    return node.model_copy(update={"routes": tuple(resolve(child, node) for child in spec.routes)})


def match_routes(route: Route, labels: Mapping[str, str | tuple[str, ...]]) -> list[Route]:
    """The routes an alert takes, depth first: each matching child in order until one that does
    not ``continue``; a node none of whose children matched is itself the match."""
    if not matches(route.matchers, labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        taken = match_routes(child, labels)
        found.extend(taken)
        if taken and not child.continue_:
            break
    return found or [route]


def receivers_of(route: Route, provider: Provider) -> list[str]:
    """The route's receivers as organisations (ODS codes) or ``team:`` names, for ``provider``."""
    out: list[str] = []
    for receiver in route.receivers:
        if receiver == "provider_icbs":
            out.extend(provider.icbs)
        elif receiver == "provider_region":
            out.append(provider.region)
        elif receiver == "provider_itself":
            out.append(provider.ods_code)
        else:
            out.append(receiver)
    return list(dict.fromkeys(out))


def inhibited_by(
    labels: Mapping[str, str | tuple[str, ...]],
    facts: Iterable[Mapping[str, str | tuple[str, ...]]],
    rules: Iterable[InhibitRule],
) -> str | None:
    """The first rule muting an alert with ``labels`` given the provider's current ``facts``."""
    facts = list(facts)
    for rule in rules:
        if not matches(rule.target_matchers, labels):
            continue
        for fact in facts:
            if matches(rule.source_matchers, fact) and all(fact.get(k) == labels.get(k) for k in rule.equal):
                return rule.name
    return None


@cache
def load_routing(path: Path | None = None) -> tuple[Route, tuple[InhibitRule, ...]]:
    """The routing tree and inhibition rules, validated; a mistake names where it is."""
    text = (
        path.read_text()
        if path
        else files("oversight_notification").joinpath("routes-2026.yaml").read_text(encoding="utf-8")
    )
    data = RoutingFile.model_validate(yaml.safe_load(text))
    return resolve(data.route), tuple(data.inhibitions)
