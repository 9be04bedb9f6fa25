"""The support-package lifecycle's event contracts (issue 11): each round-trips through JSON and
its committed JSON Schema, refuses an unknown field and text past its limit, and is a v1 type of
its own, registered with every other event."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_args
from uuid import uuid4

import jsonschema
import pytest
from pydantic import ValidationError

from oversight_contracts import (
    ALL_EVENTS,
    EVENTS_BY_TYPE,
    SUPERSEDED,
    Actor,
    AgreementBasis,
    AnySupportPackageChange,
    Envelope,
    PackageStatus,
    SupportPackageAcknowledged,
    SupportPackageAgreed,
    SupportPackageAgreedData,
    SupportPackageChangeData,
    SupportPackageCommentAdded,
    SupportPackageCommentAddedData,
    SupportPackageDeliveryStarted,
    SupportPackageEdited,
    SupportPackageEditedData,
    SupportPackageEscalated,
    SupportPackageEscalatedData,
    SupportPackageExitDeclined,
    SupportPackageExited,
    SupportPackageExitProposed,
    SupportPackageExitProposedData,
    SupportPackageMilestoneMissed,
    SupportPackageMilestoneMissedData,
    SupportPackageProposedV2,
    SupportPackagePutForward,
    SupportPackagePutForwardData,
    SupportPackageSignedOff,
    SupportPackageSignOffData,
    SupportPackageSignOffWithdrawn,
    SupportPackageWithdrawn,
)
from oversight_runtime.devtools import wire_shape

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ICS_LEAD = Actor(user_id="qkk.lead", name="Grace Adeyemi", organisation="QKK", role="ics_lead")
DECIDER = Actor(user_id="y56.decider", name="Helen Wright", organisation="Y56", role="regional_decider")
TRUST = Actor(user_id="rj1.lead", name="Asha Patel", organisation="RJ1", role="trust_lead")
SUPPORT_EVENTS: tuple[type[Envelope[Any]], ...] = get_args(AnySupportPackageChange)
_S = PackageStatus


def _change(
    before: PackageStatus, after: PackageStatus, actor: Actor | None, **fields: Any
) -> dict[str, Any]:
    """The fields every change carries, for one package of RJ1 (ICB QKK, region Y56)."""
    return {
        "package_id": uuid4(),
        "case_id": uuid4(),
        "provider": "RJ1",
        "icbs": ["QKK"],
        "region": "Y56",
        "status": after,
        "previous_status": before,
        "actor": actor,
        "at": NOW,
        **fields,
    }


def support_package_examples() -> list[Envelope[Any]]:
    """One valid event of each lifecycle type, in the order of a package's life."""
    basis = AgreementBasis(
        framework_pack="nof-2025",
        framework_version="2025.1",
        proposal_id=uuid4(),
        trigger_ids=["operational_standard_failed:op_ae_4hr_pct"],
        pathway=["Meet the A&E 4-hour standard for two consecutive months"],
    )
    return [
        SupportPackagePutForward.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackagePutForwardData(
                **_change(
                    _S.DRAFT,
                    _S.PROPOSED,
                    ICS_LEAD,
                    problem_statement="A&E 4-hour performance has been below 78% for six months.",
                )
            ),
        ),
        SupportPackageEdited.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageEditedData(
                **_change(_S.PROPOSED, _S.PROPOSED, ICS_LEAD, fields_changed=["plan_items", "kpis"])
            ),
        ),
        SupportPackageSignOffWithdrawn.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageSignOffData(
                **_change(
                    _S.PROPOSED,
                    _S.PROPOSED,
                    ICS_LEAD,
                    side="region",
                    organisation="Y56",
                    reason="The plan was edited after the region signed off.",
                )
            ),
        ),
        SupportPackageSignedOff.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageSignOffData(
                **_change(_S.PROPOSED, _S.PROPOSED, ICS_LEAD, side="ics", organisation="QKK")
            ),
        ),
        SupportPackageAgreed.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageAgreedData(**_change(_S.PROPOSED, _S.AGREED, DECIDER, basis=basis)),
        ),
        SupportPackageAcknowledged.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageChangeData(**_change(_S.AGREED, _S.AGREED, TRUST)),
        ),
        SupportPackageCommentAdded.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageCommentAddedData(
                **_change(_S.AGREED, _S.AGREED, TRUST, comment="We would value a peer visit.")
            ),
        ),
        SupportPackageDeliveryStarted.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageChangeData(**_change(_S.AGREED, _S.IN_DELIVERY, DECIDER)),
        ),
        SupportPackageMilestoneMissed.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageMilestoneMissedData(
                **_change(
                    _S.IN_DELIVERY,
                    _S.IN_DELIVERY,
                    None,
                    kind="kpi",
                    metric="op_ae_4hr_pct",
                    period="2026-10",
                    target=76.0,
                    actual=71.5,
                    consecutive=1,
                )
            ),
        ),
        SupportPackageEscalated.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageEscalatedData(
                **_change(_S.IN_DELIVERY, _S.ESCALATED, None, cause="missed_milestones")
            ),
        ),
        SupportPackageExitProposed.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageExitProposedData(
                **_change(
                    _S.IN_DELIVERY,
                    _S.EXIT_PROPOSED,
                    None,
                    criteria_met=["operational_standard_failed:op_ae_4hr_pct cleared"],
                )
            ),
        ),
        SupportPackageExitDeclined.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageChangeData(
                **_change(_S.EXIT_PROPOSED, _S.IN_DELIVERY, DECIDER, reason="One month is not enough.")
            ),
        ),
        SupportPackageExited.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageChangeData(**_change(_S.EXIT_PROPOSED, _S.EXITED, DECIDER)),
        ),
        SupportPackageWithdrawn.new(
            source="support-coordination",
            subject="RJ1",
            data=SupportPackageChangeData(
                **_change(_S.DRAFT, _S.WITHDRAWN, DECIDER, reason="Replaced by mandated support.")
            ),
        ),
    ]


EXAMPLES = support_package_examples()


def test_there_is_an_example_of_every_lifecycle_event() -> None:
    assert {type(e) for e in EXAMPLES} == set(SUPPORT_EVENTS)
    assert len(SUPPORT_EVENTS) == 14


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_event_round_trips_through_json_and_its_schema(event: Envelope[Any]) -> None:
    wire = event.model_dump_json()
    assert type(event).model_validate_json(wire) == event
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text())
    jsonschema.validate(json.loads(wire), schema)
    assert EVENTS_BY_TYPE[event.type] is type(event)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_an_unknown_field_is_refused(event: Envelope[Any]) -> None:
    wire = event.model_dump(mode="json")
    wire["data"]["note"] = "not in the contract"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        type(event).model_validate(wire)
    wire = event.model_dump(mode="json")
    wire["extra"] = 1
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        type(event).model_validate(wire)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_a_reason_past_its_limit_is_refused(event: Envelope[Any]) -> None:
    wire = event.model_dump(mode="json")
    wire["data"]["reason"] = "x" * 2000
    type(event).model_validate(wire)
    wire["data"]["reason"] = "x" * 2001
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        type(event).model_validate(wire)


@pytest.mark.parametrize(
    ("event_type", "path", "value", "message"),
    [
        ("support_package.put_forward.v1", ("problem_statement",), "x" * 5001, "at most 5000 characters"),
        ("support_package.comment_added.v1", ("comment",), "x" * 4001, "at most 4000 characters"),
        ("support_package.comment_added.v1", ("comment",), "", "at least 1 character"),
        ("support_package.edited.v1", ("fields_changed",), ["x" * 201], "at most 200 characters"),
        ("support_package.edited.v1", ("fields_changed",), ["kpis"] * 101, "at most 100 items"),
        ("support_package.edited.v1", ("fields_changed",), [], "at least 1 item"),
        ("support_package.exit_proposed.v1", ("criteria_met",), ["x" * 5001], "at most 5000 characters"),
        ("support_package.agreed.v1", ("basis", "pathway"), ["x"] * 101, "at most 100 items"),
        ("support_package.agreed.v1", ("basis", "trigger_ids"), ["x" * 201], "at most 200 characters"),
        ("support_package.agreed.v1", ("basis", "framework_pack"), "x" * 33, "at most 32 characters"),
        ("support_package.agreed.v1", ("basis", "note"), "x", "Extra inputs are not permitted"),
        ("support_package.delivery_started.v1", ("icbs",), ["QKK"] * 11, "at most 10 items"),
        ("support_package.delivery_started.v1", ("icbs",), [], "at least 1 item"),
        ("support_package.delivery_started.v1", ("status",), "paused", "Input should be 'draft'"),
        ("support_package.signed_off.v1", ("side",), "trust", "Input should be 'ics' or 'region'"),
        ("support_package.signed_off.v1", ("organisation",), "not ods", "String should match pattern"),
        ("support_package.escalated.v1", ("cause",), "whim", "Input should be 'missed_milestones'"),
        ("support_package.milestone_missed.v1", ("consecutive",), 0, "greater than or equal to 1"),
        ("support_package.milestone_missed.v1", ("period",), "2026-13", "String should match pattern"),
        ("support_package.milestone_missed.v1", ("metric",), None, "a missed KPI names its metric"),
        ("support_package.milestone_missed.v1", ("kind",), "plan_item", "a missed plan item names"),
        ("support_package.acknowledged.v1", ("actor", "name"), "x" * 201, "at most 200 characters"),
    ],
)
def test_a_field_outside_its_contract_is_refused(
    event_type: str, path: tuple[str, ...], value: Any, message: str
) -> None:
    [event] = [e for e in EXAMPLES if e.type == event_type]
    wire = event.model_dump(mode="json")
    node = wire["data"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError, match=message):
        type(event).model_validate(wire)


def test_a_missed_plan_item_names_the_item_and_its_due_date() -> None:
    [kpi] = [e for e in EXAMPLES if isinstance(e, SupportPackageMilestoneMissed)]
    data = kpi.data.model_dump() | {
        "kind": "plan_item",
        "metric": None,
        "period": None,
        "target": None,
        "actual": None,
        "plan_item_id": uuid4(),
        "due": date(2026, 10, 31),
        "consecutive": 2,
    }
    assert SupportPackageMilestoneMissedData(**data).due == date(2026, 10, 31)
    with pytest.raises(ValidationError, match="finite number"):
        SupportPackageMilestoneMissedData(**(kpi.data.model_dump() | {"actual": float("nan")}))


def test_the_actor_is_stated_even_when_it_is_the_platform() -> None:
    """None means monitoring acted; leaving the actor out is a producer's mistake, not monitoring."""
    [acknowledged] = [e for e in EXAMPLES if isinstance(e, SupportPackageAcknowledged)]
    wire = acknowledged.model_dump(mode="json")
    del wire["data"]["actor"]
    with pytest.raises(ValidationError, match="actor"):
        SupportPackageAcknowledged.model_validate(wire)


def test_a_type_is_refused_on_another_lifecycle_event() -> None:
    [agreed] = [e for e in EXAMPLES if isinstance(e, SupportPackageAgreed)]
    wire = agreed.model_dump(mode="json")
    wire["type"] = "support_package.agreed.v2"
    with pytest.raises(ValidationError):
        SupportPackageAgreed.model_validate(wire)
    [signed] = [e for e in EXAMPLES if isinstance(e, SupportPackageSignedOff)]
    wire = signed.model_dump(mode="json") | {"type": SupportPackageSignOffWithdrawn.event_type()}
    with pytest.raises(ValidationError):
        SupportPackageSignedOff.model_validate(wire)


def test_every_type_is_unique_v1_and_registered_with_every_event() -> None:
    types = [e.event_type() for e in SUPPORT_EVENTS]
    assert len(set(types)) == len(types) == 14
    assert all(re.fullmatch(r"support_package\.[a-z_]+\.v1", t) for t in types), types
    assert set(SUPPORT_EVENTS) <= set(ALL_EVENTS)
    assert set(SUPPORT_EVENTS).isdisjoint(SUPERSEDED)
    all_types = [e.event_type() for e in ALL_EVENTS]
    assert len(set(all_types)) == len(all_types)
    # The draft's opening keeps its own released type; putting forward is a new one.
    assert SupportPackageProposedV2.event_type() not in types
    assert "support_package.put_forward.v1" in types


def test_package_status_is_the_lifecycle() -> None:
    assert [s.value for s in PackageStatus] == [
        "draft",
        "proposed",
        "agreed",
        "in_delivery",
        "exit_proposed",
        "exited",
        "withdrawn",
        "escalated",
    ]


def _unbounded(node: Any, path: str = "") -> list[str]:
    """Strings and lists of a wire schema with no limit on their size."""
    found: list[str] = []
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "string" and not (
            {"maxLength", "enum", "const"} & node.keys()
            or node.get("format") in {"uuid", "date", "date-time"}
            or ("pattern" in node and not re.search(r"[*+]", node["pattern"]))
        ):
            found.append(path)
        if kind == "array" and "maxItems" not in node:
            found.append(path)
        for key, value in node.items():
            found += _unbounded(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _unbounded(value, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("event", SUPPORT_EVENTS, ids=lambda e: e.event_type())
def test_every_string_and_list_has_a_limit(event: type[Envelope[Any]]) -> None:
    assert _unbounded(wire_shape(event.model_json_schema())["properties"]["data"]) == []
