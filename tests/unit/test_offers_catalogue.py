"""The support offers catalogue: the shipped one loads and holds what the framework names (seed 003
para 35); a bad one is refused naming the offer; ``offers_for`` picks by theme, trigger and segment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from oversight_contracts import Theme
from oversight_support_coordination.catalogue import (
    CATALOGUE_FILE,
    CatalogueProblem,
    OfferedBy,
    OfferLevel,
    OffersCatalogue,
    framework_triggers,
    load_catalogue,
    offers_for,
)

CATALOGUE = load_catalogue()

#: The support the framework says is available directly (seed 003 para 35, and para 7 for the
#: Culture and Leadership programme, para 41 for financial special measures).
NAMED_IN_THE_FRAMEWORK = {
    "maternal-neonatal-safety-collaborative": OfferLevel.TARGETED,
    "emergency-care-improvement-programme": OfferLevel.TARGETED,
    "getting-it-right-first-time": OfferLevel.TARGETED,
    "model-hospital": OfferLevel.UNIVERSAL,
    "financial-recovery-support": OfferLevel.TARGETED,
    "culture-and-leadership-programme": OfferLevel.TARGETED,
    "leadership-coaching-and-mentoring": OfferLevel.UNIVERSAL,
    "improvement-capability-resources": OfferLevel.UNIVERSAL,
    "improvement-director": OfferLevel.MANDATED,
    "special-measures-buddying": OfferLevel.MANDATED,
    "financial-special-measures": OfferLevel.MANDATED,
}


def test_the_shipped_catalogue_loads() -> None:
    assert CATALOGUE.id == "offers-2026"
    assert CATALOGUE.version >= 1
    assert "paras 32-35" in CATALOGUE.source
    assert len({o.id for o in CATALOGUE.offers}) == len(CATALOGUE.offers)


@pytest.mark.parametrize(("offer_id", "level"), sorted(NAMED_IN_THE_FRAMEWORK.items()))
def test_the_support_the_framework_names_is_on_offer(offer_id: str, level: OfferLevel) -> None:
    offer = CATALOGUE.offer(offer_id)
    assert offer.level == level
    assert "para" in offer.source


def test_every_offer_names_its_source_paragraph() -> None:
    assert all(any(w in o.source for w in ("para", "Table", "seed")) for o in CATALOGUE.offers)


def test_support_comes_from_every_quarter_and_at_every_level() -> None:
    """Regional and national teams, the local system and other providers (paras 33-34), at the
    three levels of Table 2; every theme has something on offer."""
    assert {o.provided_by for o in CATALOGUE.offers} == set(OfferedBy)
    assert {o.level for o in CATALOGUE.offers} == set(OfferLevel)
    assert all(offers_for(CATALOGUE, theme) for theme in Theme)


def test_offers_name_real_framework_triggers() -> None:
    named = {t for o in CATALOGUE.offers for t in o.triggers}
    assert named <= framework_triggers()
    assert {"cqc_rating", "finance_score", "operational_standard_failed", "metric_score"} <= named


def test_an_unknown_offer_is_a_key_error_naming_the_catalogue() -> None:
    with pytest.raises(KeyError, match="no offer 'nope' in catalogue offers-2026"):
        CATALOGUE.offer("nope")


# --- a bad catalogue is refused, naming the offer ---------------------------------------------


def _shipped() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(CATALOGUE_FILE.read_text("utf-8"))
    return raw


def _with(offer_id: str, **values: object) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        next(o for o in raw["offers"] if o["id"] == offer_id).update(values)

    return change


def _duplicate(raw: dict[str, Any]) -> None:
    raw["offers"].append(dict(raw["offers"][0]))


def _empty(raw: dict[str, Any]) -> None:
    raw["offers"] = []


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (_duplicate, "offer 'maternal-neonatal-safety-collaborative' is listed twice"),
        (_with("model-hospital", themes=["quality_of_cake"]), "offer 'model-hospital' (number 4) themes.0"),
        (_with("model-hospital", themes=[]), "offer 'model-hospital' (number 4) themes"),
        (_with("peer-support", typical_weeks=0), "offer 'peer-support' (number 25) typical_weeks"),
        (_with("peer-support", typical_weeks="12"), "offer 'peer-support' (number 25) typical_weeks"),
        (_with("peer-support", level="optional"), "offer 'peer-support' (number 25) level"),
        (_with("peer-support", provided_by="consultants"), "offer 'peer-support' (number 25) provided_by"),
        (
            _with("peer-support", triggers=["cqc_ratings"]),
            "names triggers no framework pack has: ['cqc_ratings']",
        ),
        (_with("peer-support", triggers=["cqc_rating", "cqc_rating"]), "lists a value twice"),
        (_with("peer-support", id="Peer Support"), "offer 'Peer Support' (number 25) id"),
        (_with("peer-support", cost=100), "offer 'peer-support' (number 25) cost"),
        (_with("peer-support", source=""), "offer 'peer-support' (number 25) source"),
        (_empty, "offers: Tuple should have at least 1 item"),
    ],
    ids=[
        "duplicate_id",
        "unknown_theme",
        "no_theme",
        "zero_weeks",
        "weeks_as_text",
        "unknown_level",
        "unknown_provider_kind",
        "unknown_trigger",
        "repeated_trigger",
        "not_a_slug",
        "extra_field",
        "no_source",
        "no_offers",
    ],
)
def test_a_bad_catalogue_is_refused_naming_the_offer(
    tmp_path: Path, spoil: Callable[[dict[str, Any]], None], says: str
) -> None:
    raw = _shipped()
    spoil(raw)
    path = tmp_path / "offers.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    with pytest.raises(CatalogueProblem) as refused:
        load_catalogue(path)
    assert says in str(refused.value)
    assert str(path) in str(refused.value)


def test_known_triggers_can_be_given(tmp_path: Path) -> None:
    path = tmp_path / "offers.yaml"
    path.write_text(yaml.safe_dump(_shipped()), "utf-8")
    with pytest.raises(CatalogueProblem, match="names triggers no framework pack has"):
        load_catalogue(path, known_triggers={"cqc_rating"})


# --- offers for a need -------------------------------------------------------------------------


def _ids(offers: list[Any]) -> list[str]:
    return [o.id for o in offers]


@pytest.mark.parametrize("theme", list(Theme), ids=str)
@pytest.mark.parametrize("segment", [None, 1, 2, 3, 4, 5], ids=str)
def test_offers_are_for_the_needs_theme(theme: Theme, segment: int | None) -> None:
    assert all(theme in o.themes for o in offers_for(CATALOGUE, theme, segment=segment))


@pytest.mark.parametrize(
    ("segment", "mandated"),
    [(None, False), (1, False), (2, False), (3, True), (4, True), (5, True)],
    ids=["no_decision", "segment_1", "segment_2", "segment_3", "segment_4", "segment_5_intensive"],
)
def test_mandated_support_only_from_segment_3(segment: int | None, mandated: bool) -> None:
    offers = offers_for(CATALOGUE, Theme.FINANCE_AND_USE_OF_RESOURCES, "finance_score", segment)
    assert ("financial-special-measures" in _ids(offers)) is mandated
    assert any(o.level == OfferLevel.MANDATED for o in offers) is mandated
    assert "financial-recovery-support" in _ids(offers)


@pytest.mark.parametrize(
    ("theme", "trigger", "first"),
    [
        (
            Theme.OPERATIONAL_PERFORMANCE,
            "operational_standard_failed",
            "emergency-care-improvement-programme",
        ),
        (Theme.QUALITY_OF_CARE, "cqc_rating", "maternal-neonatal-safety-collaborative"),
        (Theme.QUALITY_OF_CARE, "seven_day_standards", "regional-quality-support"),
        (
            Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY,
            "organisational_health_concern",
            "culture-and-leadership-programme",
        ),
        (Theme.FINANCE_AND_USE_OF_RESOURCES, "use_of_resources_rating", "financial-recovery-support"),
    ],
)
def test_offers_that_suit_the_trigger_come_first(theme: Theme, trigger: str, first: str) -> None:
    offers = offers_for(CATALOGUE, theme, trigger)
    suited = [o for o in offers if trigger in o.triggers]
    assert suited and offers[: len(suited)] == suited
    assert offers[0].id == first


def test_a_trigger_may_be_given_by_id_and_kind_together() -> None:
    by_id = offers_for(CATALOGUE, Theme.FINANCE_AND_USE_OF_RESOURCES, "finance_score")
    by_both = offers_for(CATALOGUE, Theme.FINANCE_AND_USE_OF_RESOURCES, ["exception_report", "finance_score"])
    assert "regional-finance-and-productivity-review" in _ids(by_both)[: len(_ids(by_id))]
    assert offers_for(CATALOGUE, Theme.STRATEGIC_CHANGE, ("exception_report",))[0].provided_by == (
        OfferedBy.REGIONAL_TEAM
    )


def test_the_order_is_suited_then_level_then_id() -> None:
    offers = offers_for(CATALOGUE, Theme.QUALITY_OF_CARE, "cqc_rating", 4)
    rank = {OfferLevel.MANDATED: 0, OfferLevel.TARGETED: 1, OfferLevel.UNIVERSAL: 2}
    keys = [("cqc_rating" not in o.triggers, rank[o.level], o.id) for o in offers]
    assert keys == sorted(keys)
    assert offers == offers_for(CATALOGUE, Theme.QUALITY_OF_CARE, "cqc_rating", 4)


def test_no_trigger_orders_by_level_and_id() -> None:
    offers = offers_for(CATALOGUE, Theme.STRATEGIC_CHANGE)
    assert [o.level for o in offers] == sorted((o.level for o in offers), key=[*OfferLevel][::-1].index)


@pytest.mark.parametrize("segment", [0, 6, -1])
def test_a_segment_outside_1_to_5_is_a_mistake(segment: int) -> None:
    with pytest.raises(ValueError, match=f"segment {segment} is not a segment"):
        offers_for(CATALOGUE, Theme.QUALITY_OF_CARE, segment=segment)


def test_the_catalogue_is_packaged_with_the_service() -> None:
    """Read through importlib.resources, as an installed wheel reads it."""
    assert CATALOGUE_FILE.name == "offers-2026.yaml"
    assert isinstance(CATALOGUE, OffersCatalogue)
