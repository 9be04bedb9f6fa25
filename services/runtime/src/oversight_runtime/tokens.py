"""Bearer access tokens verified against the issuer's published keys (PyJWT does the checking).

The platform is an OpenID Connect resource server: it trusts one issuer, reads that issuer's
discovery document for its JWKS, caches the keys, and fetches them again when a token names a
key id it has not seen (key rotation), at most every ``jwks_min_refresh_seconds`` so that tokens
with made-up key ids cannot make it hammer the issuer.

A client sends the same token with every request until it expires, so a verified token's principal
is remembered for a short while (``VERIFIED_FOR_SECONDS``, never past the token's expiry): an RSA
verification and the claims mapping cost ingest's write path about 7 % of its CPU per request.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from oversight_runtime.access import AccessPolicy, ClaimsProblem, Principal, principal_from_claims
from oversight_runtime.reference import OrganisationRegistry
from oversight_runtime.settings import AuthSettings

#: How long a verified token's principal is remembered, and how many are.
VERIFIED_FOR_SECONDS = 60.0
VERIFIED_TOKENS_KEPT = 4096


class InvalidToken(Exception):
    """The token is missing, malformed, wrongly signed, expired, or not meant for this platform."""


class IdentityProviderUnavailable(Exception):
    """The issuer's discovery document or keys could not be fetched: try again later."""


class TokenVerifier:
    """Turns a bearer token into a ``Principal`` or raises ``InvalidToken``."""

    def __init__(
        self,
        settings: AuthSettings,
        registry: OrganisationRegistry,
        policy: AccessPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.policy = policy
        self.mapping = settings.claim_mapping()
        self._transport = transport
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def principal(self, token: str) -> Principal:
        now = time.time()
        if (known := self._verified.get(token)) is not None and now < known[1]:
            return known[0]
        claims = await self.claims(token)
        try:
            principal = principal_from_claims(claims, self.mapping, self.registry, self.policy)
        except ClaimsProblem as problem:
            raise InvalidToken(str(problem)) from problem
        self._remember(token, principal, until=min(now + VERIFIED_FOR_SECONDS, float(claims["exp"])))
        return principal

    def _remember(self, token: str, principal: Principal, *, until: float) -> None:
        """Keep at most ``VERIFIED_TOKENS_KEPT``, dropping the oldest (dicts keep insertion order)."""
        self._verified.pop(token, None)
        while len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, until)

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims: signature by a published key with an allowed algorithm, issuer,
        audience, expiry and not-before (with the configured leeway)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise InvalidToken(f"malformed token: {error}") from error
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            raise InvalidToken(f"signature algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key (kid)")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(_reason(error)) from error
        return claims

    async def _key(self, kid: str) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if kid not in self._keys or age > self.settings.jwks_cache_seconds:
            async with self._lock:
                age = time.monotonic() - self._fetched_at
                stale = age > self.settings.jwks_cache_seconds
                may_refresh = age > self.settings.jwks_min_refresh_seconds
                if stale or (kid not in self._keys and may_refresh):
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(f"signing key {kid!r} is not published by {self.settings.issuer}")
        return key

    async def _refresh(self) -> None:
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self.settings.http_timeout_seconds
        ) as client:
            try:
                if self._jwks_uri is None:
                    self._jwks_uri = await self._discover(client)
                response = await client.get(self._jwks_uri)
                response.raise_for_status()
                key_set = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
                raise IdentityProviderUnavailable(
                    f"cannot fetch the signing keys of {self.settings.issuer}: {error}"
                ) from error
        self._keys = {k.key_id: k for k in key_set.keys if k.key_id}
        self._fetched_at = time.monotonic()

    async def _discover(self, client: httpx.AsyncClient) -> str:
        url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = await client.get(url)
        response.raise_for_status()
        document = response.json()
        if document.get("issuer") != self.settings.issuer:
            raise ValueError(f"{url} names issuer {document.get('issuer')!r}, not {self.settings.issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError(f"{url} has no jwks_uri")
        return jwks_uri


def _reason(error: jwt.PyJWTError) -> str:
    """A short, safe explanation for the ``WWW-Authenticate`` header and the body."""
    reasons: list[tuple[type[jwt.PyJWTError], str]] = [
        (jwt.ExpiredSignatureError, "the token has expired"),
        (jwt.ImmatureSignatureError, "the token is not valid yet"),
        (jwt.InvalidAudienceError, "the token is not meant for this platform (audience)"),
        (jwt.InvalidIssuerError, "the token comes from an issuer this platform does not trust"),
        (jwt.InvalidSignatureError, "the token's signature does not verify"),
        (jwt.MissingRequiredClaimError, f"the token lacks a required claim: {error}"),
        (jwt.DecodeError, f"malformed token: {error}"),
    ]
    for kind, reason in reasons:
        if isinstance(error, kind):
            return reason
    return f"invalid token: {error}"
