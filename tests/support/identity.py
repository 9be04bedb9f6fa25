"""The local OpenID Connect provider the tests sign in with: the same one `make run` starts.

Tokens come from it over HTTP like any client's (no test-only switch on the services): the
services verify them against its discovery document and JWKS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oversight_runtime.access import load_policy
from oversight_runtime.demo_identity import (
    DemoUser,
    DemoUsers,
    fetch_token,
    issuer_config,
    load_demo_users,
    new_signing_key,
)
from oversight_runtime.reference import load_registry
from oversight_runtime.settings import AuthSettings
from tests.support.infra import load_deploy_module


@dataclass
class RunningIssuer:
    process: Any  # deploy/oidc/issuer.py's OidcIssuer
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        """The issuer URL the platform trusts."""
        issuer: str = self.process.issuer()
        return issuer

    def other_issuer(self, name: str = "untrusted") -> str:
        """Another issuer on the same server, with keys of its own: one the platform does not trust."""
        issuer: str = self.process.issuer(name)
        return issuer

    def token(self, user: str) -> str:
        """An access token for a demo user (cached: they last an hour)."""
        if user not in self._tokens:
            self._tokens[user] = fetch_token(self.issuer, user)
        return self._tokens[user]

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}", **extra}

    def auth_settings(self) -> AuthSettings:
        return AuthSettings(issuer=self.issuer)


#: Submitters of trusts the end-to-end tests keep to themselves, so that tests do not share a
#: provider's history; configured on the same provider beside the demo users.
TEST_USERS = tuple(
    DemoUser(
        username=f"{code.lower()}.submitter",
        name=f"{code} test submitter",
        organisation=code,
        roles=("trust_submitter",),
    )
    for code in ("RJ2", "RJZ", "RJ7", "RAX", "RKE", "RPG")
)


def start_issuer() -> RunningIssuer:
    module = load_deploy_module("deploy/oidc/issuer.py")
    process = module.OidcIssuer()
    settings = AuthSettings()
    users = DemoUsers(users=(*load_demo_users().users, *TEST_USERS)).check(load_registry(), load_policy())
    process.start(
        issuer_config(
            users, audience=settings.audience, signing_key=new_signing_key(), mapping=settings.claim_mapping()
        )
    )
    return RunningIssuer(process)
