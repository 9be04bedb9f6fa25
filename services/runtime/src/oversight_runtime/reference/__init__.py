"""The organisation registry: regions, ICBs and the trusts they oversee, from a data file.

Every service loads the same file, so a provider unknown to one is unknown to all and is
rejected at the door with a clear error.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from oversight_contracts import OdsCode

ProviderKind = Literal["acute", "mental_health", "community", "ambulance", "specialist", "combined"]
#: What kind of organisation an ODS code is: what a signed-in user's roles and scope depend on.
OrganisationKind = Literal["provider", "icb", "region", "national"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class National(_Record):
    ods_code: OdsCode
    name: str


class Region(_Record):
    ods_code: OdsCode
    name: str


class Icb(_Record):
    ods_code: OdsCode
    name: str
    region: OdsCode


class Site(_Record):
    """A provider's main hospital or headquarters, approximately (to about a kilometre): where it
    is, so peers can be suggested nearest first."""

    name: str
    latitude: float = Field(ge=49.8, le=60.9, description="WGS84, within the United Kingdom.")
    longitude: float = Field(ge=-8.7, le=1.8, description="WGS84, within the United Kingdom.")


class Provider(_Record):
    ods_code: OdsCode
    name: str
    kind: ProviderKind
    icbs: tuple[OdsCode, ...] = Field(min_length=1, description="Host ICB first.")
    region: OdsCode
    site: Site | None = None


class UnknownOrganisation(LookupError):
    def __init__(self, kind: str, code: str) -> None:
        super().__init__(f"unknown {kind} ODS code {code!r}: not in the organisation registry")
        self.kind = kind
        self.code = code


class OrganisationRegistry(_Record):
    version: str
    national: National
    regions: tuple[Region, ...]
    icbs: tuple[Icb, ...]
    providers: tuple[Provider, ...]

    @model_validator(mode="after")
    def _consistent(self) -> OrganisationRegistry:
        codes = [
            self.national.ods_code,
            *(r.ods_code for r in self.regions),
            *(i.ods_code for i in self.icbs),
        ]
        codes += [p.ods_code for p in self.providers]
        duplicates = {c for c in codes if codes.count(c) > 1}
        if duplicates:
            raise ValueError(f"duplicate ODS codes: {sorted(duplicates)}")
        regions = {r.ods_code for r in self.regions}
        icbs = {i.ods_code for i in self.icbs}
        for icb in self.icbs:
            if icb.region not in regions:
                raise ValueError(f"ICB {icb.ods_code} names unknown region {icb.region}")
        for provider in self.providers:
            if provider.region not in regions:
                raise ValueError(f"provider {provider.ods_code} names unknown region")
            missing = set(provider.icbs) - icbs
            if missing:
                raise ValueError(f"provider {provider.ods_code} names unknown ICBs {sorted(missing)}")
        return self

    def provider(self, ods_code: str) -> Provider:
        for provider in self.providers:
            if provider.ods_code == ods_code:
                return provider
        raise UnknownOrganisation("provider", ods_code)

    def icb(self, ods_code: str) -> Icb:
        for icb in self.icbs:
            if icb.ods_code == ods_code:
                return icb
        raise UnknownOrganisation("ICB", ods_code)

    def region(self, ods_code: str) -> Region:
        for region in self.regions:
            if region.ods_code == ods_code:
                return region
        raise UnknownOrganisation("region", ods_code)

    def oversight_team(self, ods_code: str) -> Icb | Region:
        """An ICB or region: the organisations alerts and shared views are addressed to."""
        teams: list[Icb | Region] = [*self.icbs, *self.regions]
        for team in teams:
            if team.ods_code == ods_code:
                return team
        raise UnknownOrganisation("ICB or region", ods_code)

    def kind_of(self, ods_code: str) -> OrganisationKind:
        """Whether an ODS code is a provider, an ICB, a region or NHS England national."""
        if ods_code == self.national.ods_code:
            return "national"
        if any(p.ods_code == ods_code for p in self.providers):
            return "provider"
        if any(i.ods_code == ods_code for i in self.icbs):
            return "icb"
        if any(r.ods_code == ods_code for r in self.regions):
            return "region"
        raise UnknownOrganisation("organisation", ods_code)

    def name_of(self, ods_code: str) -> str:
        if ods_code == self.national.ods_code:
            return self.national.name
        records: tuple[Provider | Icb | Region, ...] = (*self.providers, *self.icbs, *self.regions)
        for record in records:
            if record.ods_code == ods_code:
                return record.name
        raise UnknownOrganisation("organisation", ods_code)

    def providers_of(self, organisation: str) -> list[Provider]:
        """Providers overseen by an ICB or a region: what its teams see and are alerted about."""
        return [p for p in self.providers if organisation in (p.region, *p.icbs)]


SHIPPED_REGISTRY = files("oversight_runtime.reference") / "organisations.yaml"


@cache
def load_registry(path: Path | None = None) -> OrganisationRegistry:
    text = path.read_text("utf-8") if path else SHIPPED_REGISTRY.read_text("utf-8")
    return OrganisationRegistry.model_validate(yaml.safe_load(text))
