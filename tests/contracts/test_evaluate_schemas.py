"""``oversight evaluate``'s input and output formats: the committed JSON Schemas hold for real files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from oversight_engine import evaluate

from oversight_contracts.frameworks import PACK_DIR, available_packs
from oversight_contracts.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "contracts" / "schemas" / "evaluate"
SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.json"))


def _schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_example_scenario_and_its_evaluation_match_the_schemas(path: Path) -> None:
    document = json.loads(path.read_text())
    jsonschema.validate(document, _schema("scenario"))
    result = evaluate(Scenario.model_validate(document))
    jsonschema.validate(json.loads(result.model_dump_json()), _schema("evaluation"))


@pytest.mark.parametrize("pack", available_packs())
def test_every_shipped_pack_matches_the_pack_schema(pack: str) -> None:
    jsonschema.validate(yaml.safe_load((PACK_DIR / f"{pack}.yaml").read_text()), _schema("framework-pack"))


def test_the_scenario_schema_refuses_a_malformed_period() -> None:
    document = json.loads(SCENARIOS[0].read_text())
    document["observations"][0]["period"] = "2026-13"
    with pytest.raises(jsonschema.ValidationError, match="2026-13"):
        jsonschema.validate(document, _schema("scenario"))
