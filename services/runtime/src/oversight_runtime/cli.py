"""``oversight token USER``: print an access token for a demo user of the local provider.

A newcomer's way to call the APIs by hand, e.g.
``curl -H "Authorization: Bearer $(uv run oversight token qkk.lead)" http://127.0.0.1:8002/...``.
Plugged into the ``oversight`` command through the ``oversight.commands`` entry point group.
"""

from __future__ import annotations

import argparse
import sys

from oversight_runtime.demo_identity import TokenUnavailable, fetch_token, load_demo_users
from oversight_runtime.settings import AuthSettings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = load_demo_users()
    parser = commands.add_parser(
        "token",
        help="print an access token for a demo user of the local OpenID Connect provider",
        description="Demo users: "
        + "; ".join(f"{u.username} ({', '.join(u.roles)} at {u.organisation})" for u in users.users),
    )
    parser.add_argument("user", help="a demo username, e.g. qkk.lead")
    parser.add_argument("--issuer", help="issuer URL (default: OVERSIGHT_AUTH_ISSUER or the local provider)")
    parser.set_defaults(run=run_token)


def run_token(args: argparse.Namespace) -> int:
    users = load_demo_users()
    try:
        users.user(args.user)
    except KeyError as error:
        print(f"oversight token: {error.args[0]}", file=sys.stderr)
        return 2
    issuer = args.issuer or AuthSettings().issuer
    try:
        print(fetch_token(issuer, args.user))
    except TokenUnavailable as error:
        print(f"oversight token: {error} (is `make run` running?)", file=sys.stderr)
        return 1
    return 0
