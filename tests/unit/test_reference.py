"""The organisation registry shipped with the platform."""

from __future__ import annotations

import pytest

from oversight_runtime.reference import OrganisationRegistry, UnknownOrganisation, load_registry

REGISTRY = load_registry()


def test_all_seven_regions_are_known() -> None:
    assert {r.ods_code for r in REGISTRY.regions} == {"Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"}


def test_london_is_complete_with_its_five_icbs_and_their_trusts() -> None:
    london_icbs = {i.ods_code for i in REGISTRY.icbs if i.region == "Y56"}
    assert london_icbs == {"QMF", "QMJ", "QRV", "QKK", "QWE"}
    for icb in london_icbs:
        assert REGISTRY.providers_of(icb), f"{icb} oversees no trust"
    assert len(REGISTRY.providers_of("Y56")) >= 30


def test_a_trust_may_belong_to_several_icbs() -> None:
    ambulance = REGISTRY.provider("RRU")
    assert set(ambulance.icbs) == {"QMF", "QMJ", "QRV", "QKK", "QWE"}
    assert REGISTRY.provider("RJ1").icbs[0] == "QKK"


def test_unknown_codes_get_a_clear_error() -> None:
    with pytest.raises(UnknownOrganisation, match="unknown provider ODS code 'ZZZ99'"):
        REGISTRY.provider("ZZZ99")
    with pytest.raises(UnknownOrganisation, match="ICB or region"):
        REGISTRY.oversight_team("RJ1")


def test_inconsistent_registry_is_refused() -> None:
    data = REGISTRY.model_dump()
    data["providers"][0]["icbs"] = ["QXX"]
    with pytest.raises(ValueError, match="unknown ICBs"):
        OrganisationRegistry.model_validate(data)
