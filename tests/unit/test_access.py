"""Who may see and do what: the role x action matrix cell by cell, scopes, and claim mapping.

The matrix below is the specification, written out by hand; ``reference/access.yaml`` is the data
the services run on. Each cell is one test, checked against the data and against the route
dependency that enforces it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException

from oversight_runtime.access import (
    SCOPE_OF,
    ClaimMapping,
    ClaimsProblem,
    Principal,
    load_policy,
    principal_from_claims,
    scope_of,
)
from oversight_runtime.reference import load_registry
from oversight_runtime.security import Access, require

POLICY = load_policy()
REGISTRY = load_registry()

# Y: the role may take the action (within its scope); .: it may not.
MATRIX = """
action                   trust_submitter trust_viewer ics_member ics_lead regional_member regional_decider national_viewer
submission.submit        Y               .            .          .        .               .                .
exception_report.submit  Y               .            .          .        .               .                .
returns.read             Y               Y            Y          Y        Y               Y                Y
provider_facts.record    .               .            Y          Y        Y               Y                .
material_concern.raise   .               .            Y          Y        Y               Y                .
metrics.read             Y               Y            Y          Y        Y               Y                Y
segmentation.read        Y               Y            Y          Y        Y               Y                Y
ics_view.record          .               .            .          Y        .               .                .
segment.decide           .               .            .          .        .               Y                .
support.read             Y               Y            Y          Y        Y               Y                Y
support.act              Y               Y            Y          Y        Y               Y                .
alerts.read              .               .            Y          Y        Y               Y                Y
"""


def _matrix() -> dict[tuple[str, str], bool]:
    header, *rows = [line.split() for line in MATRIX.strip().splitlines()]
    roles = header[1:]
    return {(role, row[0]): mark == "Y" for row in rows for role, mark in zip(roles, row[1:], strict=True)}


EXPECTED = _matrix()
#: An organisation of the right kind for each role, for a principal holding it.
HOME = {"provider": "RJ1", "icb": "QKK", "region": "Y56", "national": "X24"}


def _principal(*roles: str, organisation: str | None = None) -> Principal:
    kind = POLICY.roles[roles[0]].organisation
    organisation = organisation or HOME[kind]
    return Principal(
        user_id="u1",
        name="A User",
        organisation=organisation,
        organisation_kind=REGISTRY.kind_of(organisation),
        roles=roles,
    )


def test_the_matrix_covers_every_role_and_action_of_the_policy() -> None:
    assert {role for role, _ in EXPECTED} == set(POLICY.roles)
    assert {action for _, action in EXPECTED} == set(POLICY.actions)
    assert len(EXPECTED) == len(POLICY.roles) * len(POLICY.actions)


def test_every_action_names_its_source() -> None:
    assert all("para" in rule.source or "seed" in rule.source for rule in POLICY.actions.values())


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED), ids=lambda v: str(v))
async def test_cell(role: str, action: str) -> None:
    """The data says it, and the route dependency does it: the principal or a 403."""
    allowed = EXPECTED[(role, action)]
    assert POLICY.allows(role, action) is allowed
    principal = _principal(role)
    request: Any = SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(access=SimpleNamespace(policy=POLICY)))
    )
    check = require(action).dependency
    if allowed:
        assert await check(request, principal) is principal
        assert principal.actor(action, POLICY).role == role
    else:
        with pytest.raises(HTTPException) as refused:
            await check(request, principal)
        assert refused.value.status_code == 403
        assert refused.value.detail[0]["type"] == "action_not_permitted"
        assert action in refused.value.detail[0]["msg"]


def test_a_route_cannot_name_an_action_the_policy_lacks() -> None:
    with pytest.raises(KeyError, match=r"unknown action 'segment\.delete'"):
        require("segment.delete")


def test_the_acting_role_is_one_that_allows_the_action() -> None:
    both = Principal("u", "U", "QKK", "icb", ("ics_member", "ics_lead"))
    assert both.acting_role("provider_facts.record", POLICY) == "ics_member"
    assert both.acting_role("ics_view.record", POLICY) == "ics_lead"


SCOPES = [
    # (organisation, provider, in scope)
    ("RJ1", "RJ1", True),  # a trust sees itself
    ("RJ1", "RJZ", False),  # and no other trust, even in its own ICB
    ("QKK", "RJ1", True),  # an ICB sees its trusts
    ("QKK", "RV5", True),  # including one it shares with another ICB (South London and Maudsley)
    ("QWE", "RV5", True),
    ("QKK", "RRU", True),  # London Ambulance Service belongs to all five London ICBs
    ("QMJ", "RRU", True),
    ("QKK", "RAL", False),  # North Central London's trust
    ("QMJ", "RAL", True),
    ("Y56", "RAL", True),  # the region sees every London trust
    ("Y56", "RJ1", True),
    ("Y59", "RJ1", False),  # another region sees none of them
    ("X24", "RJ1", True),  # NHS England national sees all
]


@pytest.mark.parametrize(("organisation", "provider", "in_scope"), SCOPES)
def test_scope(organisation: str, provider: str, in_scope: bool) -> None:
    kind = REGISTRY.kind_of(organisation)
    principal = Principal("u", "U", organisation, kind, ())
    assert (provider in scope_of(principal, REGISTRY)) is in_scope
    assert principal.scope_kind == SCOPE_OF[kind]


def test_out_of_scope_is_403_naming_the_provider() -> None:
    access = Access(verifier=None, policy=POLICY, registry=REGISTRY)  # type: ignore[arg-type]
    with pytest.raises(HTTPException) as refused:
        access.ensure_in_scope(_principal("ics_member"), "RAL", loc=("body", "provider"))
    assert refused.value.status_code == 403
    assert refused.value.detail == [
        {
            "loc": ["body", "provider"],
            "msg": "RAL is outside what QKK oversees; A User (u1, ics_member at QKK) cannot act on it",
            "type": "out_of_scope",
        }
    ]


# --- claims to principal -----------------------------------------------------------------------


def test_default_claims() -> None:
    claims = {"sub": "qkk.lead", "name": "Grace Adeyemi", "org": "QKK", "roles": ["ics_lead"]}
    principal = principal_from_claims(claims, ClaimMapping(), REGISTRY, POLICY)
    assert principal == Principal("qkk.lead", "Grace Adeyemi", "QKK", "icb", ("ics_lead",))


def test_an_entra_id_token_maps_through_configuration() -> None:
    """Entra ID: ``oid`` for the user, app roles in ``roles``, the ODS code in an extension claim."""
    mapping = ClaimMapping(
        user_id="oid",
        name="name",
        organisation="extn.odsCode",
        roles="roles",
        role_map={
            "Oversight.Region.Decider": "regional_decider",
            "Oversight.Region.Member": "regional_member",
        },
    )
    claims = {
        "oid": "6f1c0c9e-8f55-4a63-9d8e-2c1b0c2a7d11",
        "name": "Helen Wright",
        "extn": {"odsCode": "y56"},
        "roles": ["Oversight.Region.Member", "Oversight.Region.Decider", "Directory.Read"],
    }
    principal = principal_from_claims(claims, mapping, REGISTRY, POLICY)
    assert principal.user_id == "6f1c0c9e-8f55-4a63-9d8e-2c1b0c2a7d11"
    assert principal.organisation == "Y56" and principal.organisation_kind == "region"
    assert principal.roles == ("regional_member", "regional_decider")  # policy order; unknown values dropped


def test_roles_may_be_a_space_separated_string() -> None:
    claims = {"sub": "u", "name": "U", "org": "QKK", "scp": "ics_member ics_lead"}
    principal = principal_from_claims(claims, ClaimMapping(roles="scp"), REGISTRY, POLICY)
    assert principal.roles == ("ics_member", "ics_lead")


def test_a_role_claimed_at_the_wrong_kind_of_organisation_is_dropped() -> None:
    """A trust user claiming to be a regional decider holds no role at all."""
    claims = {"sub": "u", "name": "U", "org": "RJ1", "roles": ["regional_decider", "national_viewer"]}
    assert principal_from_claims(claims, ClaimMapping(), REGISTRY, POLICY).roles == ()


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"name": "U", "org": "QKK", "roles": []}, "no user id"),
        ({"sub": "u", "org": "QKK", "roles": []}, "no display name"),
        ({"sub": "u", "name": "U", "roles": []}, "no organisation ODS code"),
        ({"sub": "u", "name": "U", "org": "ZZ9", "roles": []}, "'ZZ9' is not known"),
        ({"sub": "u", "name": "U", "org": 42, "roles": []}, "no organisation ODS code"),
        ({"sub": "u" * 201, "name": "U", "org": "QKK"}, "longer than 200"),
    ],
)
def test_claims_that_do_not_say_who_the_user_is_are_refused(claims: dict[str, Any], problem: str) -> None:
    with pytest.raises(ClaimsProblem, match=problem):
        principal_from_claims(claims, ClaimMapping(), REGISTRY, POLICY)
