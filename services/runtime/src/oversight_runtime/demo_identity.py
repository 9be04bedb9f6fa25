"""The demo users of the local OpenID Connect provider, its configuration, and their tokens.

Used by the run command, the tests and ``oversight token``. The provider (deploy/oidc) is a real
OpenID Connect server; this module only says which claims each demo user's tokens carry and
signs them with a key made fresh for each start, so no token outlives the provider that issued
it. Nothing here is used to verify tokens: the services trust the issuer's JWKS only.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

import httpx
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import BaseModel, ConfigDict, Field, model_validator

from oversight_contracts import OdsCode
from oversight_runtime.access import AccessPolicy, ClaimMapping, load_policy
from oversight_runtime.reference import OrganisationRegistry, load_registry

#: The issuer id (the path on the local provider) the platform trusts by default.
ISSUER_ID = "oversight"
#: The OAuth client the command line and the tests ask for tokens as.
CLI_CLIENT_ID = "oversight-cli"


class DemoUser(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(pattern=r"^[a-z0-9][a-z0-9.]{0,40}$")
    name: str = Field(min_length=1, max_length=200)
    organisation: OdsCode
    roles: tuple[str, ...] = Field(min_length=1)
    about: str = ""


class DemoUsers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    users: tuple[DemoUser, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> DemoUsers:
        names = [u.username for u in self.users]
        if len(set(names)) != len(names):
            raise ValueError("a demo username appears twice")
        return self

    def check(self, registry: OrganisationRegistry, policy: AccessPolicy) -> DemoUsers:
        """Every demo user's organisation exists and each role belongs to its kind."""
        for user in self.users:
            kind = registry.kind_of(user.organisation)
            for role in user.roles:
                if role not in policy.roles or policy.roles[role].organisation != kind:
                    raise ValueError(f"demo user {user.username}: {role} is not a role at a {kind}")
        return self

    def user(self, username: str) -> DemoUser:
        for user in self.users:
            if user.username == username:
                return user
        raise KeyError(
            f"no demo user {username!r}; the demo users are: {', '.join(u.username for u in self.users)}"
        )


@cache
def load_demo_users() -> DemoUsers:
    text = (files("oversight_runtime.reference") / "demo_users.yaml").read_text("utf-8")
    return DemoUsers.model_validate(yaml.safe_load(text)).check(load_registry(), load_policy())


def new_signing_key() -> str:
    """A fresh RSA private key as a JWK (JSON): what the provider signs tokens with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    return json.dumps(jwk | {"alg": "RS256", "use": "sig"})


def issuer_config(
    users: DemoUsers,
    *,
    audience: str,
    signing_key: str | None,
    mapping: ClaimMapping | None = None,
    token_seconds: int = 3600,
) -> dict[str, Any]:
    """mock-oauth2-server's JSON config: per demo user (matched on the login or password-grant
    username), the claims the platform reads, under the claim names it is configured with.

    ``signing_key`` is a private JWK (``new_signing_key()``); None leaves the server its built-in
    keys, which are public, so only the docker-compose demo does that.
    """
    mapping = mapping or ClaimMapping()
    mappings = [
        {
            "requestParam": "subject",
            "match": re.escape(user.username),
            "claims": {
                mapping.name: user.name,
                mapping.organisation: user.organisation,
                mapping.roles: list(user.roles),
                "aud": [audience],
            },
        }
        for user in users.users
    ]
    config: dict[str, Any] = {
        "interactiveLogin": True,
        "httpServer": "NettyWrapper",
        "tokenCallbacks": [
            {"issuerId": ISSUER_ID, "tokenExpiry": token_seconds, "requestMappings": mappings}
        ],
    }
    if signing_key is not None:
        config["tokenProvider"] = {"keyProvider": {"initialKeys": signing_key, "algorithm": "RS256"}}
    return config


class TokenUnavailable(RuntimeError):
    """The provider could not be reached or refused to issue a token."""


def fetch_token(issuer: str, username: str, *, timeout: float = 10) -> str:
    """An access token for ``username`` from the provider's token endpoint (password grant).

    The grant is the local provider's convenience for scripts and tests; people sign in through
    the authorization-code flow of their own provider.
    """
    try:
        with httpx.Client(timeout=timeout) as client:
            discovery = client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
            discovery.raise_for_status()
            response = client.post(
                discovery.json()["token_endpoint"],
                data={
                    "grant_type": "password",
                    "username": username,
                    "password": "demo",
                    "client_id": CLI_CLIENT_ID,
                    "scope": "openid",
                },
            )
            response.raise_for_status()
            token: str = response.json()["access_token"]
            return token
    except (httpx.HTTPError, KeyError, ValueError) as error:
        raise TokenUnavailable(f"no token from {issuer}: {error}") from error
