"""Who may see and do what: the role x action policy, the signed-in principal and its scope.

Pure rules, no I/O beyond reading the policy file. The policy is data (``reference/access.yaml``),
validated when loaded; the HTTP side (``security``) asks it two questions of every request: may
this principal take this action at all, and is this provider within its scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from oversight_contracts import Actor
from oversight_runtime.reference import OrganisationKind, OrganisationRegistry, UnknownOrganisation

ScopeKind = Literal["own", "icb", "region", "all"]

#: The organisation a role belongs to sets what its users see.
SCOPE_OF: dict[OrganisationKind, ScopeKind] = {
    "provider": "own",
    "icb": "icb",
    "region": "region",
    "national": "all",
}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleRule(_Data):
    organisation: OrganisationKind
    description: str = Field(min_length=1)


class ActionRule(_Data):
    description: str = Field(min_length=1)
    source: str = Field(min_length=1, description="The paragraph of the sources behind the rule.")
    roles: tuple[str, ...] = Field(min_length=1)


class AccessPolicy(_Data):
    """Roles and actions; each action names the roles that may take it, in the file's order."""

    version: str
    roles: dict[str, RoleRule]
    actions: dict[str, ActionRule]

    @model_validator(mode="after")
    def _roles_known(self) -> AccessPolicy:
        for name, action in self.actions.items():
            unknown = set(action.roles) - set(self.roles)
            if unknown:
                raise ValueError(f"action {name} names unknown roles {sorted(unknown)}")
            if len(set(action.roles)) != len(action.roles):
                raise ValueError(f"action {name} names a role twice")
        return self

    def allows(self, role: str, action: str) -> bool:
        return role in self.action(action).roles

    def action(self, name: str) -> ActionRule:
        try:
            return self.actions[name]
        except KeyError:
            raise KeyError(f"unknown action {name!r}; the policy has {sorted(self.actions)}") from None


POLICY_FILE = files("oversight_runtime.reference") / "access.yaml"


@cache
def load_policy() -> AccessPolicy:
    return AccessPolicy.model_validate(yaml.safe_load(POLICY_FILE.read_text("utf-8")))


@dataclass(frozen=True)
class Principal:
    """The signed-in user a request acts for, from a verified access token."""

    user_id: str
    name: str
    organisation: str
    organisation_kind: OrganisationKind
    #: Platform roles, each valid at this kind of organisation.
    roles: tuple[str, ...]

    def may(self, action: str, policy: AccessPolicy) -> bool:
        return any(policy.allows(role, action) for role in self.roles)

    def acting_role(self, action: str, policy: AccessPolicy) -> str:
        """The role under which this principal takes ``action`` (recorded with the act)."""
        for role in self.roles:
            if policy.allows(role, action):
                return role
        raise PermissionError(f"{self.user_id} holds no role that may {action}")

    def actor(self, action: str, policy: AccessPolicy) -> Actor:
        """This principal as the actor of ``action``, as events and records carry it."""
        return Actor(
            user_id=self.user_id,
            name=self.name,
            organisation=self.organisation,
            role=self.acting_role(action, policy),
        )

    @property
    def scope_kind(self) -> ScopeKind:
        return SCOPE_OF[self.organisation_kind]

    def describe(self) -> str:
        return f"{self.name} ({self.user_id}, {', '.join(self.roles) or 'no role'} at {self.organisation})"


@dataclass(frozen=True)
class ProviderScope:
    """The providers a principal may see: every one, or a named set."""

    everything: bool
    providers: frozenset[str]

    def __contains__(self, provider: object) -> bool:
        return self.everything or provider in self.providers


def scope_of(principal: Principal, registry: OrganisationRegistry) -> ProviderScope:
    """Own trust; the providers of an ICB (including trusts shared with other ICBs); of a region;
    or all of them for NHS England national."""
    kind = principal.scope_kind
    if kind == "all":
        return ProviderScope(True, frozenset())
    if kind == "own":
        return ProviderScope(False, frozenset({principal.organisation}))
    return ProviderScope(False, frozenset(p.ods_code for p in registry.providers_of(principal.organisation)))


# --- from claims to a principal --------------------------------------------------------------


class ClaimMapping(_Data):
    """Where a token carries each part of the principal, so any issuer's tokens can be mapped.

    Claim names may be dotted paths into nested claims (``extn.odsCode``). Roles are a list or a
    space-separated string; each value goes through ``role_map`` (issuer value -> platform role)
    and values that map to no platform role are ignored.
    """

    user_id: str = "sub"
    name: str = "name"
    organisation: str = "org"
    roles: str = "roles"
    role_map: dict[str, str] = Field(default_factory=dict)


class ClaimsProblem(ValueError):
    """The token is valid but does not say who its bearer is in a way the platform can use."""


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _text_claim(claims: Mapping[str, Any], path: str, what: str) -> str:
    value = _claim(claims, path)
    if not isinstance(value, str) or not value.strip():
        raise ClaimsProblem(f"the token has no {what} (claim {path!r})")
    if len(value) > 200:
        raise ClaimsProblem(f"the token's {what} (claim {path!r}) is longer than 200 characters")
    return value.strip()


def _role_values(claims: Mapping[str, Any], path: str) -> Sequence[str]:
    value = _claim(claims, path)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def principal_from_claims(
    claims: Mapping[str, Any], mapping: ClaimMapping, registry: OrganisationRegistry, policy: AccessPolicy
) -> Principal:
    """The principal a verified token describes.

    A token without a user id, name or organisation is refused (``ClaimsProblem``). Roles that the
    platform does not know, or that do not belong to the kind of organisation the user is in (a
    regional role claimed at a trust), are dropped: such a principal can then do nothing.
    """
    organisation = _text_claim(claims, mapping.organisation, "organisation ODS code")
    try:
        kind = registry.kind_of(organisation.upper())
    except UnknownOrganisation as error:
        raise ClaimsProblem(
            f"the token's organisation {organisation!r} is not known to the platform"
        ) from error
    roles = []
    for value in _role_values(claims, mapping.roles):
        role = mapping.role_map.get(value, value)
        rule = policy.roles.get(role)
        if rule is not None and rule.organisation == kind and role not in roles:
            roles.append(role)
    return Principal(
        user_id=_text_claim(claims, mapping.user_id, "user id"),
        name=_text_claim(claims, mapping.name, "display name"),
        organisation=organisation.upper(),
        organisation_kind=kind,
        roles=tuple(sorted(roles, key=list(policy.roles).index)),
    )
