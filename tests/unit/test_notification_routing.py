"""The routing tree and inhibition rules (issue 12 point 2), from YAML, table-driven."""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent

import pytest
import yaml
from pydantic import ValidationError

from oversight_notification.routing import (
    RoutingFile,
    inhibited_by,
    load_routing,
    match_routes,
    receivers_of,
    resolve,
)
from oversight_runtime.reference import load_registry

REGISTRY = load_registry()
TREE = dedent(
    """
    version: test
    route:
      name: root
      source: s
      receivers: [provider_icbs, provider_region]
      group_by: [provider, theme]
      group_wait: 30s
      group_interval: 5m
      routes:
        - name: urgent
          source: s
          matchers: {severity: urgent}
          group_wait: 0s
          continue: true
          routes:
            - name: urgent-finance
              source: s
              matchers: {theme: finance_and_use_of_resources}
              receivers: ["team:Y56:finance-recovery"]
        - name: trust
          source: s
          matchers: {alert_type: [support_package.agreed, segment.decided]}
          receivers: [provider_itself]
        - name: north-central
          source: s
          matchers: {icb: QMJ}
          group_interval: 1h
    """
)
ROOT = resolve(RoutingFile.model_validate(yaml.safe_load(TREE)).route)


def labels(**values: str | tuple[str, ...]) -> dict[str, str | tuple[str, ...]]:
    base: dict[str, str | tuple[str, ...]] = {
        "alert_type": "trigger.raised",
        "severity": "high",
        "provider": "RJ1",
        "theme": "quality_of_care",
        "icb": ("QKK",),
        "region": "Y56",
        "segment": "2",
    }
    return base | values


@pytest.mark.parametrize(
    ("alert", "routes"),
    [
        (labels(), ["root"]),  # no child matches: the root itself
        (labels(severity="urgent"), ["urgent"]),  # continue, but no later sibling matches
        (labels(severity="urgent", icb=("QMJ",)), ["urgent", "north-central"]),  # continue reaches it
        (labels(severity="urgent", theme="finance_and_use_of_resources"), ["urgent-finance"]),  # deepest
        (labels(alert_type="segment.decided", icb=("QMJ",)), ["trust"]),  # first match wins
        (labels(icb=("QRV", "QMJ")), ["north-central"]),  # any of a many-valued label
    ],
)
def test_an_alert_takes_the_routes_the_tree_gives(
    alert: dict[str, str | tuple[str, ...]], routes: list[str]
) -> None:
    assert [r.name for r in match_routes(ROOT, alert)] == routes


def test_children_inherit_what_they_leave_out() -> None:
    urgent, trust, north = ROOT.routes
    finance = urgent.routes[0]
    assert (urgent.group_wait.total_seconds(), urgent.group_interval.total_seconds()) == (0, 300)
    assert finance.group_wait.total_seconds() == 0, "from its parent, not the root"
    assert (north.group_wait.total_seconds(), north.group_interval.total_seconds()) == (30, 3600)
    assert trust.group_by == ("provider", "theme") and north.receivers == ("provider_icbs", "provider_region")


def test_receivers_are_the_providers_own_organisations() -> None:
    rru = REGISTRY.provider("RRU")  # London Ambulance Service: all five London ICBs
    root, trust = ROOT, ROOT.routes[1]
    assert receivers_of(root, rru) == ["QMF", "QMJ", "QRV", "QKK", "QWE", "Y56"]
    assert receivers_of(trust, rru) == ["RRU"]
    assert receivers_of(ROOT.routes[0].routes[0], rru) == ["team:Y56:finance-recovery"]


SEGMENT_4 = {"state": "segment", "provider": "RJ1", "segment": "4"}
DELIVERING = {"state": "package_in_delivery", "provider": "RJ1", "theme": "quality_of_care"}


@pytest.mark.parametrize(
    ("alert", "facts", "rule"),
    [
        (labels(), [SEGMENT_4], "segment-4-mutes-lower-alerts"),
        (labels(severity="urgent"), [SEGMENT_4], None),  # urgent is never muted
        (labels(provider="RJ2"), [SEGMENT_4], None),  # another provider's segment
        (labels(), [DELIVERING], "package-in-delivery-mutes-its-theme"),
        (labels(theme="finance_and_use_of_resources"), [DELIVERING], None),  # another theme
        (labels(alert_type="support_package.milestone_missed"), [DELIVERING], None),  # monitoring's own
        (labels(), [{**SEGMENT_4, "segment": "3"}], None),
        (labels(), [], None),
    ],
)
def test_inhibition_from_the_shipped_rules(
    alert: dict[str, str | tuple[str, ...]], facts: list[dict[str, str]], rule: str | None
) -> None:
    _, rules = load_routing()
    assert inhibited_by(alert, facts, rules) == rule


def test_the_shipped_routes_send_causes_for_concern_at_once_and_agreements_to_the_trust() -> None:
    root, _ = load_routing()
    [urgent] = match_routes(root, labels(severity="urgent"))
    assert urgent.group_wait.total_seconds() == 0 and "para 31" in urgent.source
    [agreed] = match_routes(root, labels(alert_type="support_package.agreed", severity="normal"))
    assert receivers_of(agreed, REGISTRY.provider("RAL")) == ["QMJ", "Y56", "RAL"]


MATCHERS = "matchers: {alert_type: [support_package.agreed, segment.decided]}"


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (MATCHERS, "matchers: {colour: red}", "unknown labels ['colour']"),
        ("receivers: [provider_itself]", "receivers: [the_board]", "receiver 'the_board'"),
        ("group_wait: 0s", "group_wait: soon", "'soon' is not a duration"),
        ("continue: true", "continue: maybe", "continue"),
    ],
)
def test_a_mistake_in_the_file_is_refused_naming_it(old: str, new: str, says: str, tmp_path: Path) -> None:
    assert old in TREE
    path = tmp_path / "routes.yaml"
    path.write_text(TREE.replace(old, new))
    with pytest.raises(ValidationError, match=re.escape(says)):
        load_routing.__wrapped__(path)


def test_the_root_must_set_what_children_inherit() -> None:
    broken = TREE.replace("  group_wait: 30s\n", "", 1)
    with pytest.raises(ValidationError, match="root route must set group_wait"):
        RoutingFile.model_validate(yaml.safe_load(broken))
