"""Calendar months as integers: a period that is not ``YYYY-MM`` is refused, naming it."""

from __future__ import annotations

from datetime import date

import pytest
from oversight_engine.evaluate import ScenarioError, evaluate
from oversight_engine.periods import month_index, period_of

from oversight_contracts.scenario import Observation, Scenario, ScenarioProvider


@pytest.mark.parametrize(
    ("period", "index"),
    [("0000-01", 0), ("2026-01", 2026 * 12), ("2026-10", 2026 * 12 + 9), ("2026-12", 2026 * 12 + 11)],
)
def test_month_index_of_a_calendar_month(period: str, index: int) -> None:
    assert month_index(period) == index
    assert period_of(index) == period


def test_consecutive_months_differ_by_one_across_a_year_end() -> None:
    assert month_index("2027-01") - month_index("2026-12") == 1


#: The last is "2026-10" in fullwidth digits, which ``int`` would read as 2026.
FULLWIDTH_2026_10 = "\uff12\uff10\uff12\uff16-10"


@pytest.mark.parametrize(
    "period", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "2026-10-01", "", FULLWIDTH_2026_10]
)
def test_a_period_that_is_not_a_calendar_month_is_refused_naming_it(period: str) -> None:
    """Refused, not read as another month: "2026-13" used to be read as January 2027."""
    with pytest.raises(ValueError, match="is not a calendar month YYYY-MM") as raised:
        month_index(period)
    assert repr(period) in str(raised.value)


def test_an_unvalidated_scenario_with_a_bad_period_names_the_observation_and_the_value() -> None:
    """A scenario built without validation (``model_construct``) still gets a ScenarioError."""
    bad = Observation.model_construct(metric="op_ae_4hr_pct", period="2026-13", value=90.0)
    good = Observation(metric="op_ae_4hr_pct", period="2026-09", value=90.0)
    scenario = Scenario(
        as_of=date(2026, 11, 23),
        provider=ScenarioProvider(ods_code="ZZ9", name="Example", kind="acute", icbs=["QKK"], region="Y56"),
        observations=[good],
    ).model_copy(update={"observations": [good, bad]})
    with pytest.raises(ScenarioError, match=r"observations\[1\]\.period: period '2026-13' is not"):
        evaluate(scenario)
