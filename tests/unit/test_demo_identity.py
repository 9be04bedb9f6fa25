"""The demo users and the local OpenID Connect provider's configuration."""

from __future__ import annotations

import json
import re

from oversight_runtime.access import ClaimMapping, load_policy
from oversight_runtime.demo_identity import issuer_config, load_demo_users, new_signing_key

USERS = load_demo_users()


def test_the_demo_users_the_issue_names_exist_with_their_roles() -> None:
    """A trust user of RJ1, an ICS lead and a member of QKK, London's regional decider, a national viewer."""
    roles = {(u.organisation, role) for u in USERS.users for role in u.roles}
    assert {
        ("RJ1", "trust_submitter"),
        ("QKK", "ics_lead"),
        ("QKK", "ics_member"),
        ("Y56", "regional_decider"),
        ("X24", "national_viewer"),
    } <= roles
    assert {role for _, role in roles} == set(load_policy().roles)  # every role can be tried


def test_each_user_gets_its_claims_under_the_configured_names_and_only_by_its_exact_name() -> None:
    mapping = ClaimMapping(organisation="ods", roles="groups")
    config = issuer_config(USERS, audience="aud-x", signing_key=None, mapping=mapping)
    [callback] = config["tokenCallbacks"]
    assert len(callback["requestMappings"]) == len(USERS.users)
    for user, rule in zip(USERS.users, callback["requestMappings"], strict=True):
        assert rule["requestParam"] == "subject"
        assert re.fullmatch(rule["match"], user.username)
        assert not re.fullmatch(rule["match"], user.username.replace(".", "x"))  # the dot is not a wildcard
        assert rule["claims"] == {
            "name": user.name,
            "ods": user.organisation,
            "groups": list(user.roles),
            "aud": ["aud-x"],
        }


def test_the_signing_key_is_the_one_given_or_the_servers_own() -> None:
    key = new_signing_key()
    assert json.loads(key)["kty"] == "RSA" and "d" in json.loads(key)  # a private key, for signing
    given = issuer_config(USERS, audience="a", signing_key=key)
    assert given["tokenProvider"]["keyProvider"]["initialKeys"] == key
    assert "tokenProvider" not in issuer_config(USERS, audience="a", signing_key=None)
    assert new_signing_key() != key
