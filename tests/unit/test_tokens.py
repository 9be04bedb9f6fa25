"""Every kind of bad access token gets 401 with a ``WWW-Authenticate`` challenge and changes nothing.

The issuer here is in memory (httpx's MockTransport serving a discovery document and a JWKS, keys
made by the test); the same checks run against the real local provider in tests/e2e/test_access.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from oversight_runtime.access import Principal, load_policy
from oversight_runtime.reference import load_registry
from oversight_runtime.security import Access, require
from oversight_runtime.settings import AuthSettings
from oversight_runtime.tokens import TokenVerifier

ISSUER = "https://issuer.example/oversight"
AUDIENCE = "oversight-platform"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    public = key.public_key()
    text = RSAAlgorithm.to_jwk(public) if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm.to_jwk(public)
    algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    return json.loads(text) | {"kid": kid, "use": "sig", "alg": algorithm}


class FakeIssuer:
    """Discovery and JWKS over an in-memory transport, counting JWKS fetches."""

    def __init__(self) -> None:
        self.keys = [_jwk(KEY, "k1")]
        self.jwks_fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})
        if request.url.path.endswith("/jwks"):
            self.jwks_fetches += 1
            return httpx.Response(200, json={"keys": self.keys})
        return httpx.Response(404)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "qkk.member",
        "name": "Ben Clarke",
        "org": "QKK",
        "roles": ["ics_member"],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    } | overrides
    return {k: v for k, v in claims.items() if v is not None}


def _token(
    claims: dict[str, Any] | None = None, *, key: Any = KEY, kid: str | None = "k1", alg: str = "RS256"
) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims or _claims(), key, algorithm=alg, headers=headers)


def _unsigned(claims: dict[str, Any]) -> str:
    """``alg: none``: PyJWT will not make one, so build it by hand."""
    return f"{_part({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{_part(claims)}."


def _part(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class Protected:
    """A one-route app behind ``require``, counting the effects that got through."""

    def __init__(
        self, issuer: FakeIssuer | Callable[[httpx.Request], httpx.Response], **settings: Any
    ) -> None:
        self.effects = 0
        auth = AuthSettings(issuer=ISSUER, audience=AUDIENCE, **settings)
        handle = issuer.handle if isinstance(issuer, FakeIssuer) else issuer
        verifier = TokenVerifier(auth, load_registry(), load_policy(), transport=httpx.MockTransport(handle))
        app = FastAPI()
        app.state.access = Access(verifier, load_policy(), load_registry())

        @app.post("/concerns")
        async def raise_concern(
            principal: Annotated[Principal, require("material_concern.raise")],
        ) -> dict[str, str]:
            self.effects += 1
            return {"by": principal.user_id}

        self.client = TestClient(app)

    def post(self, token: str | None) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self.client.post("/concerns", headers=headers)


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


def test_a_good_token_passes(issuer: FakeIssuer) -> None:
    app = Protected(issuer)
    response = app.post(_token())
    assert response.status_code == 200 and response.json() == {"by": "qkk.member"}
    assert app.effects == 1


def _hs256_with_public_key() -> str:
    """Algorithm confusion: HMAC keyed with the (public) RSA key, as if it were a shared secret."""

    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    import base64

    def part(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(_claims())
    secret = json.dumps(_jwk(KEY, "k1")).encode()
    signature = base64.urlsafe_b64encode(hmac.new(secret, signing_input, hashlib.sha256).digest()).rstrip(
        b"="
    )
    return (signing_input + b"." + signature).decode()


BAD_TOKENS: list[tuple[str, Callable[[], str | None], str]] = [
    ("missing", lambda: None, "sign in"),
    ("malformed", lambda: "not-a-jwt", "malformed token"),
    ("three garbage parts", lambda: "aaa.bbb.ccc", "malformed token"),
    ("expired", lambda: _token(_claims(exp=int(time.time()) - 120)), "expired"),
    ("not valid yet", lambda: _token(_claims(nbf=int(time.time()) + 600)), "not valid yet"),
    ("wrongly signed", lambda: _token(key=OTHER_KEY), "signature does not verify"),
    ("tampered claims", lambda: _tampered(), "signature does not verify"),
    (
        "wrong issuer",
        lambda: _token(_claims(iss="https://elsewhere.example/")),
        "issuer this platform does not trust",
    ),
    ("wrong audience", lambda: _token(_claims(aud="another-service")), "audience"),
    ("no audience", lambda: _token(_claims(aud=None)), "required claim"),
    ("no expiry", lambda: _token(_claims(exp=None)), "required claim"),
    ("alg none", lambda: _unsigned(_claims()), "algorithm 'none' is not accepted"),
    ("HS256 keyed with the public key", _hs256_with_public_key, "algorithm 'HS256' is not accepted"),
    ("no key id", lambda: _token(kid=None), "names no signing key"),
    ("unknown key id", lambda: _token(kid="k9"), "not published"),
    ("no organisation claim", lambda: _token(_claims(org=None)), "no organisation"),
    ("unknown organisation", lambda: _token(_claims(org="ZZ9")), "not known to the platform"),
]


def _tampered() -> str:
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org"] = "Y56"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(("kind", "make", "reason"), BAD_TOKENS, ids=[b[0] for b in BAD_TOKENS])
def test_bad_token_gets_401_with_a_challenge_and_changes_nothing(
    issuer: FakeIssuer, kind: str, make: Callable[[], str | None], reason: str
) -> None:
    app = Protected(issuer)
    response = app.post(make())
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="nhs-oversight"')
    if kind != "missing":
        assert 'error="invalid_token"' in challenge
    assert reason in response.json()["detail"][0]["msg"]
    assert app.effects == 0


def test_expiry_and_not_before_have_a_small_leeway(issuer: FakeIssuer) -> None:
    app = Protected(issuer, leeway_seconds=30)
    now = int(time.time())
    assert app.post(_token(_claims(exp=now - 10))).status_code == 200
    assert app.post(_token(_claims(nbf=now + 10))).status_code == 200


def test_a_valid_token_without_the_right_role_is_403_not_401(issuer: FakeIssuer) -> None:
    app = Protected(issuer)
    response = app.post(_token(_claims(org="RJ1", roles=["trust_submitter"])))
    assert response.status_code == 403 and app.effects == 0


def test_an_ec_key_is_accepted_when_allowed(issuer: FakeIssuer) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    issuer.keys.append(_jwk(ec_key, "e1"))
    assert Protected(issuer).post(_token(key=ec_key, kid="e1", alg="ES256")).status_code == 200
    only_rsa = Protected(issuer, algorithms=["RS256"])
    assert only_rsa.post(_token(key=ec_key, kid="e1", alg="ES256")).status_code == 401


def test_keys_are_cached_and_fetched_again_for_a_new_key_id(issuer: FakeIssuer) -> None:
    """Rotation: a token signed with a key published after the first fetch verifies; a flood of
    made-up key ids does not make the platform fetch the JWKS for each one."""
    app = Protected(issuer, jwks_min_refresh_seconds=0)
    assert app.post(_token()).status_code == 200
    assert app.post(_token()).status_code == 200
    assert issuer.jwks_fetches == 1
    issuer.keys.append(_jwk(OTHER_KEY, "k2"))
    assert app.post(_token(key=OTHER_KEY, kid="k2")).status_code == 200
    assert issuer.jwks_fetches == 2

    patient = Protected(issuer, jwks_min_refresh_seconds=60)
    assert patient.post(_token()).status_code == 200
    for n in range(5):
        assert patient.post(_token(kid=f"made-up-{n}")).status_code == 401
    assert issuer.jwks_fetches == 3  # one for the good token, none for the made-up ones


def test_an_unreachable_issuer_is_503_with_retry_after() -> None:
    def down(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    app = Protected(down)
    response = app.post(_token())
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["detail"][0]["type"] == "identity_provider_unavailable"
    assert app.effects == 0


def test_a_discovery_document_for_another_issuer_is_not_trusted() -> None:
    def liar(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"issuer": "https://evil.example/", "jwks_uri": "https://evil.example/jwks"}
        )

    app = Protected(liar)
    response = app.post(_token())
    assert response.status_code == 503 and "names issuer 'https://evil.example/'" in response.text
    assert app.effects == 0


def test_a_verified_token_is_remembered_until_it_expires(
    issuer: FakeIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same token again is not verified again; once past its expiry it is verified afresh, so
    PyJWT's expiry check (tested above) applies to it again."""
    app = Protected(issuer, leeway_seconds=0)
    verifications = 0
    decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        nonlocal verifications
        verifications += 1
        return decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    now = time.time()
    token = _token(_claims(exp=int(now) + 2))
    assert [app.post(token).status_code for _ in range(3)] == [200, 200, 200]
    assert verifications == 1 and app.effects == 3
    monkeypatch.setattr(time, "time", lambda: now + 5)
    app.post(token)
    assert verifications == 2
