"""Access on the HTTP side, written once for every service: FastAPI dependencies and checks.

Every route but the health and metrics endpoints declares the action it needs::

    principal: Annotated[Principal, require("segment.decide")]

which verifies the bearer token (401 when it is missing or invalid, with ``WWW-Authenticate``)
and the principal's roles (403). A route about one provider then calls
``access.ensure_provider(principal, code)``; a list narrows its query with ``restrict``.

The rule for what lies outside a principal's scope is the same everywhere: **403**, never 404.
Which NHS organisations exist is public (the ODS registry), and items are named by random UUIDs,
so refusing openly leaks nothing; 404 means only that the thing does not exist.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.sql.expression import Select, SelectOfScalar

from oversight_runtime.access import AccessPolicy, Principal, ProviderScope, load_policy, scope_of
from oversight_runtime.reference import OrganisationRegistry
from oversight_runtime.tokens import IdentityProviderUnavailable, InvalidToken, TokenVerifier

audit_log = logging.getLogger("oversight.audit")

REALM = "nhs-oversight"
RETRY_AFTER_SECONDS = 5

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AccessToken",
    description="An access token (JWT) from the platform's OpenID Connect provider.",
)

#: What a route with a request body can also answer, for its OpenAPI document.
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body cannot be read at all (not UTF-8 text); nothing was stored."},
    413: {"description": "The body is larger than this route takes; nothing was stored."},
}

#: Responses every protected route can give, for its OpenAPI document.
PROTECTED_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No access token, or an invalid one; see the WWW-Authenticate header."},
    403: {"description": "The signed-in user's roles or scope do not allow this."},
    503: {"description": "The identity provider's keys cannot be fetched; retry after Retry-After."},
}


@dataclass(frozen=True)
class Access:
    """What the access checks of one service need: its token verifier, policy and registry."""

    verifier: TokenVerifier
    policy: AccessPolicy
    registry: OrganisationRegistry

    def scope(self, principal: Principal) -> ProviderScope:
        return scope_of(principal, self.registry)

    def ensure_provider(self, principal: Principal, provider: str) -> None:
        """For a provider named in the path: 404 when the registry does not know it, 403 when it
        is outside the principal's scope."""
        self.registry.provider(provider)  # UnknownOrganisation: answered as 404 by the service
        self.ensure_in_scope(principal, provider, loc=("path", "ods_code"))

    def ensure_in_scope(self, principal: Principal, provider: str, *, loc: tuple[str, ...]) -> None:
        """403 unless ``provider`` is within the principal's scope; ``loc`` names the field."""
        if provider not in self.scope(principal):
            audit(principal, "out_of_scope", provider=provider)
            raise forbidden(
                loc,
                f"{provider} is outside what {principal.organisation} oversees; "
                f"{principal.describe()} cannot act on it",
                "out_of_scope",
            )


def forbidden(loc: tuple[str, ...], msg: str, type_: str) -> HTTPException:
    return HTTPException(403, detail=[{"loc": list(loc), "msg": msg, "type": type_}])


def _header_text(text: str) -> str:
    """Safe inside a quoted ``WWW-Authenticate`` parameter: printable ASCII, no quotes."""
    return re.sub(r'[^\x20-\x7e]|["\\]', "'", text)[:300]


def unauthorised(reason: str | None) -> HTTPException:
    """401 as RFC 6750 says: a bare challenge when no token came, ``invalid_token`` otherwise."""
    challenge = f'Bearer realm="{REALM}"'
    if reason is None:
        msg, type_ = "sign in: send an access token as 'Authorization: Bearer <token>'", "missing_token"
    else:
        msg, type_ = reason, "invalid_token"
        challenge += f', error="invalid_token", error_description="{_header_text(reason)}"'
    return HTTPException(
        401,
        detail=[{"loc": ["header", "Authorization"], "msg": msg, "type": type_}],
        headers={"WWW-Authenticate": challenge},
    )


def access_of(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal:
    """The signed-in principal, from a verified bearer token."""
    if credentials is None:
        raise unauthorised(None)
    try:
        return await access_of(request).verifier.principal(credentials.credentials)
    except InvalidToken as error:
        audit_log.info("token refused: %s", error, extra={"outcome": "unauthenticated"})
        raise unauthorised(str(error)) from None
    except IdentityProviderUnavailable as error:
        raise HTTPException(
            503,
            detail=[
                {
                    "loc": ["header", "Authorization"],
                    "msg": str(error),
                    "type": "identity_provider_unavailable",
                }
            ],
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(action: str) -> Any:
    """A dependency giving the principal, once its roles allow ``action`` (else 403).

    The action must be in the policy: a route naming an unknown one fails when it is declared.
    """
    rule = load_policy().action(action)

    async def principal_allowed_to(request: Request, principal: CurrentPrincipal) -> Principal:
        if not principal.may(action, access_of(request).policy):
            audit(principal, "forbidden", action=action)
            raise forbidden(
                ("header", "Authorization"),
                f"{principal.describe()} may not {action} ({rule.description} Roles allowed: "
                f"{', '.join(rule.roles)})",
                "action_not_permitted",
            )
        return principal

    return Depends(principal_allowed_to)


Q = TypeVar("Q", bound=Select[Any] | SelectOfScalar[Any])


def restrict(query: Q, provider_column: ColumnElement[Any] | Any, scope: ProviderScope) -> Q:
    """Narrow a query to the providers in scope, in the query itself (not after loading)."""
    if scope.everything:
        return query
    return query.where(provider_column.in_(sorted(scope.providers)))  # type: ignore[return-value]


def audit(principal: Principal, outcome: str, **details: Any) -> None:
    """One structured log line per human act or refusal: who, from where, as what, on what."""
    audit_log.info(
        "%s by %s",
        outcome,
        principal.user_id,
        extra={
            "outcome": outcome,
            "user_id": principal.user_id,
            "user_name": principal.name,
            "organisation": principal.organisation,
            "roles": list(principal.roles),
            **details,
        },
    )
