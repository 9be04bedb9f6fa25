"""``oversight evaluate FILE``: the installed console script on the example scenarios and on bad input.

Runs the real command in a subprocess (the script next to the interpreter), so what is checked is
what a user sees: JSON on stdout and exit 0, or a non-zero exit and the problem named on stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

OVERSIGHT = Path(sys.executable).parent / "oversight"
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OVERSIGHT), "evaluate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def evaluate_file(path: Path) -> dict[str, Any]:
    result = run(str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_the_console_script_is_installed() -> None:
    assert OVERSIGHT.is_file(), f"no oversight script next to {sys.executable}"


# --- the example scenarios -----------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    source: str
    segment: int
    trigger_keys: set[str]
    timing: str
    review_date: str | None
    cause_for_concern: set[str]
    finance_overall: int | None


EXAMPLES = {
    "rj1_ae_failing": Expected(
        source="para 31; para 37; after para 46; after para 48; para 21; Table 2",
        segment=2,
        trigger_keys={
            "cqc_rating",
            "finance_score",
            "operational_standard_failed:op_ae_4hr_pct",
            "exception_report:qualified_audit_risk",
        },
        timing="next_quarterly_review",
        review_date="2027-01-01",
        cause_for_concern=set(),
        finance_overall=3,
    ),
    "zz1_segment1_clean": Expected(
        source="Table 2 (segment 1)",
        segment=1,
        trigger_keys=set(),
        timing="immediate",
        review_date=None,
        cause_for_concern=set(),
        finance_overall=1,
    ),
    "zz2_special_measures": Expected(
        source="Table 2 (segment 4); para 41; para 31",
        segment=4,
        trigger_keys={
            "cqc_rating",
            "seven_day_standards",
            "finance_score",
            "use_of_resources_rating",
            "operational_standard_failed:op_ae_4hr_pct",
            "well_led_rating",
            "exception_report:qualified_audit_risk",
            "material_concern:leadership_and_improvement_capability",
        },
        timing="immediate",
        review_date=None,
        cause_for_concern={"cqc_rating"},
        finance_overall=4,
    ),
    "zz3_ae_deteriorating": Expected(
        source="after para 48 (triggers 1 and 2); para 31",
        segment=2,
        trigger_keys={
            "operational_standard_failed:op_ae_4hr_pct",
            "operational_deterioration:op_ae_4hr_pct",
        },
        timing="next_quarterly_review",
        review_date="2027-01-01",
        cause_for_concern=set(),
        finance_overall=1,
    ),
    "zz4_warning_notice": Expected(
        source="para 37; para 31 (cause for concern)",
        segment=2,
        trigger_keys={"cqc_warning_notice:cqc_warning_notice"},
        timing="immediate",
        review_date=None,
        cause_for_concern={"cqc_warning_notice:cqc_warning_notice"},
        finance_overall=1,
    ),
}


def test_the_nof_2019_examples_are_all_here() -> None:
    nof_2019 = {
        p.stem for p in SCENARIOS.glob("*.json") if json.loads(p.read_text()).get("framework") == "nof-2019"
    }
    assert set(EXAMPLES) <= nof_2019


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_scenario_evaluates(path: Path) -> None:
    result = evaluate_file(path)
    assert result["proposed_segment"] in range(1, 6)
    assert result["provider"] == json.loads(path.read_text())["provider"]


@pytest.mark.parametrize(
    ("name", "expected"), [pytest.param(n, e, id=f"{n} [{e.source}]") for n, e in EXAMPLES.items()]
)
def test_example_scenario(name: str, expected: Expected) -> None:
    result = evaluate_file(SCENARIOS / f"{name}.json")
    assert result["framework"] == "nof-2019"
    assert result["proposed_segment"] == expected.segment
    assert {t["key"] for t in result["triggers"]} == expected.trigger_keys
    assert {t["key"] for t in result["triggers"] if t["cause_for_concern"]} == expected.cause_for_concern
    assert result["decision_timing"] == expected.timing
    assert result["review_date"] == expected.review_date
    finance = result["finance_score"]
    assert (finance["overall"] if finance else None) == expected.finance_overall
    assert all(t["source"] for t in result["triggers"])
    assert all(step["segment_after"] <= expected.segment for step in result["pathway"])


def test_segment_1_clean_trust_has_no_support_need() -> None:
    """Table 2 (segment 1): no support needs in any theme; nothing on its pathway."""
    result = evaluate_file(SCENARIOS / "zz1_segment1_clean.json")
    assert not any(result["support_needs"].values())
    assert result["pathway"] == []
    assert result["segment_name"] == "Maximum autonomy"


def test_special_measures_trust_is_4_with_the_finance_moderation_reported() -> None:
    """Table 2 (segment 4); para 41 (special measures for financial reasons moderates to 4)."""
    result = evaluate_file(SCENARIOS / "zz2_special_measures.json")
    finance = result["finance_score"]
    assert finance["mean"] == pytest.approx(3.2)
    assert [(m["rule"], m["before"], m["after"]) for m in finance["moderations"]] == [
        ("financial_special_measures", 3, 4)
    ]
    steps = {step["action"]: step["segment_after"] for step in result["pathway"]}
    assert steps["Leave special measures"] == 3  # still in breach with triggers: mandated support
    assert steps["Return to licence compliance (enforcement undertakings met)"] == 4


def test_ae_deterioration_is_caught_a_month_before_the_two_month_trigger(tmp_path: Path) -> None:
    """After para 48: a significant deterioration in a single month justifies acting earlier."""
    document = json.loads((SCENARIOS / "zz3_ae_deteriorating.json").read_text())
    document["as_of"] = date(2026, 9, 30).isoformat()  # 13 months seen: only the first drop
    path = tmp_path / "zz3_as_of_september.json"
    path.write_text(json.dumps(document))
    result = evaluate_file(path)
    assert {t["key"] for t in result["triggers"]} == {"operational_deterioration:op_ae_4hr_pct"}
    (trigger,) = result["triggers"]
    assert "2026-09" in trigger["evidence"] and "beyond its process limit" in trigger["evidence"]
    assert result["decision_timing"] == "next_quarterly_review"
    assert result["review_date"] == "2026-10-01"


def test_ae_deterioration_waits_for_the_quarterly_review_and_says_when() -> None:
    """Para 31: segment 1, no cause for concern: the change waits, and the output gives the date."""
    result = evaluate_file(SCENARIOS / "zz3_ae_deteriorating.json")
    assert any("quarterly review on 2027-01-01" in line and "para 31" in line for line in result["rationale"])


def test_warning_notice_is_cause_for_concern_and_says_so() -> None:
    """Para 31: information giving cause for concern: decide now, and the output says which."""
    result = evaluate_file(SCENARIOS / "zz4_warning_notice.json")
    assert any("cqc_warning_notice is cause for concern" in line for line in result["rationale"])


def test_a_scenario_can_come_on_standard_input() -> None:
    result = run("-", stdin=(SCENARIOS / "zz4_warning_notice.json").read_text())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["proposed_segment"] == 2


def test_the_framework_can_be_overridden_on_the_command_line() -> None:
    result = run(str(SCENARIOS / "zz1_segment1_clean.json"), "--framework", "nof-2025")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["framework"] == "nof-2025"


# --- bad input: non-zero exit, the problem named on stderr, nothing on stdout ---------------------


def _valid() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCENARIOS / "zz1_segment1_clean.json").read_text())
    return document


def _with(**changes: Any) -> str:
    document = _valid()
    for key, value in changes.items():
        if key == "observation":
            document["observations"][0].update(value)
        else:
            document[key] = value
    return json.dumps(document)


BAD_INPUT = [
    pytest.param(
        _with(observation={"metric": "op_made_up_pct"}),
        ["observations[0]", "unknown metric 'op_made_up_pct'", "nof-2019"],
        id="unknown metric",
    ),
    pytest.param(
        _with(observation={"period": "2026-13"}),
        ["observations.0.period", "pattern", '"2026-13"'],
        id="malformed period 2026-13",
    ),
    pytest.param(
        _with(observation={"period": "2026-1"}),
        ["observations.0.period", '"2026-1"'],
        id="malformed period 2026-1",
    ),
    pytest.param(
        _with(framework="nof-1999"),
        ["unknown framework 'nof-1999'", "nof-2019"],
        id="unknown framework",
    ),
    pytest.param(
        '{"framework": "nof-2019", "as_of": ',
        ["is not JSON"],
        id="truncated JSON",
    ),
    pytest.param("framework: nof-2019\n", ["is not JSON"], id="YAML, not JSON"),
    pytest.param(_with(as_of="23/11/2026"), ["as_of", '"23/11/2026"'], id="malformed as_of date"),
    pytest.param(
        _with(observation={"metric": "op_ae_4hr_pct", "value": 140}),
        ["observations[0]", "op_ae_4hr_pct", "above the largest possible value 100"],
        id="a percentage above 100",
    ),
    pytest.param(
        _with(facts={"current_segment": 7}),
        ["facts.current_segment", "(got 7)"],
        id="segment out of range",
    ),
    pytest.param(_with(colour="blue"), ["colour"], id="unknown field"),
    pytest.param("[]", ["(scenario)"], id="a JSON list, not an object"),
]


@pytest.mark.parametrize(("content", "named"), BAD_INPUT)
def test_bad_input_exits_non_zero_naming_the_problem(tmp_path: Path, content: str, named: list[str]) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(content)
    result = run(str(path))
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.startswith("oversight evaluate:")
    for fragment in named:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "October 2026", ""])
def test_a_malformed_period_is_refused_naming_the_field_and_the_value(tmp_path: Path, period: str) -> None:
    """The fourth observation's period is bad: exit 2, and stderr says which field and what it was."""
    document = _valid()
    document["observations"][3]["period"] = period
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document))
    result = run(str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("oversight evaluate: observations.3.period: ")
    assert line.endswith(f'(got "{period}")')
    assert "Traceback" not in result.stderr


def test_a_long_bad_value_is_cut_short(tmp_path: Path) -> None:
    document = _valid()
    document["observations"][0]["period"] = "2026-" + "1" * 200
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document))
    result = run(str(path))
    assert result.returncode == 2
    assert '(got "2026-111' in result.stderr and "1...)" in result.stderr
    assert len(result.stderr.splitlines()[0]) < 200


BIGGEST = 1.7976931348623157e308  # the largest float


def test_values_near_the_largest_float_evaluate_to_json(tmp_path: Path) -> None:
    """Metrics with no maximum may carry 1e308-ish values: exit 0 and valid JSON, not a traceback.

    By hand: C. difficile 1e307/1.1e307 then 1.7e308 is above its upper limit (6.0e307) and lower
    is better; teamwork at the largest float for 12 months then 0 is below its lower limit (0.70 of
    it) and higher is better; category 2 ambulance response, 1e307/1.1e307 minutes then 1.7e308,
    fails its 18-minute standard every month and ends beyond its upper limit.
    """
    document = _valid()
    huge = {
        "q_c_diff_cases": [1e307, 1.1e307] * 6 + [1.7e308],
        "lead_teamwork_score": [BIGGEST] * 12 + [0.0],
        "op_amb_cat2_mean_min": [1e307, 1.1e307] * 6 + [1.7e308],
    }
    months = [f"{2025 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(13)]  # 2025-10 to 2026-10
    assert months[0] == "2025-10" and months[-1] == "2026-10"
    document["observations"] = [o for o in document["observations"] if o["metric"] not in huge] + [
        {"metric": metric, "period": period, "value": value}
        for metric, values in huge.items()
        for period, value in zip(months, values, strict=True)
    ]
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(document))
    result = evaluate_file(path)
    keys = {t["key"] for t in result["triggers"]}
    assert {
        "quality_indicator_concern:q_c_diff_cases",
        "organisational_health_concern:lead_teamwork_score",
        "operational_standard_failed:op_amb_cat2_mean_min",
        "operational_deterioration:op_amb_cat2_mean_min",
    } <= keys
    assert result["proposed_segment"] == 2
    evidence = {t["key"]: t["evidence"] for t in result["triggers"]}
    for key in (
        "quality_indicator_concern:q_c_diff_cases",
        "organisational_health_concern:lead_teamwork_score",
    ):
        assert "a point beyond the process limit" in evidence[key]
        assert "nan" not in evidence[key].replace(",", " ").split()


def test_a_file_that_is_not_utf8_exits_non_zero_naming_the_problem(tmp_path: Path) -> None:
    """JSON is UTF-8 text; a Latin-1 export must be refused with a message, not a traceback."""
    path = tmp_path / "latin1.json"
    document = _valid()
    document["provider"]["name"] = "Hôpital Example"
    path.write_bytes(json.dumps(document, ensure_ascii=False).encode("latin-1"))
    result = run(str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "is not JSON: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_exits_non_zero_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_scenario.json"
    result = run(str(missing))
    assert result.returncode != 0
    assert result.stdout == ""
    assert f"cannot read {missing}" in result.stderr
    assert "No such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_framework_on_the_command_line_is_refused() -> None:
    result = run(str(SCENARIOS / "zz1_segment1_clean.json"), "--framework", "nof-1999")
    assert result.returncode != 0
    assert "unknown framework 'nof-1999'" in result.stderr


def test_no_scenario_argument_is_a_usage_error() -> None:
    result = run()
    assert result.returncode != 0
    assert "scenario" in result.stderr
