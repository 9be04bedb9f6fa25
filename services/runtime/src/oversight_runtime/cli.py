"""Commands the runtime plugs into ``oversight`` (the ``oversight.commands`` entry point group).

- ``oversight token USER``: an access token for a demo user of the local provider, a newcomer's
  way to call the APIs by hand, e.g.
  ``curl -H "Authorization: Bearer $(uv run oversight token qkk.lead)" http://127.0.0.1:8002/...``.
- ``oversight dead-letters list|redrive``: what consumers parked, and sending it back.
- ``oversight outbox --service S list|redrive``: outbox rows that could not be published.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys

from oversight_runtime.settings import DEFAULT_PORTS, AuthSettings, ServiceSettings

# The commands' own modules (the database, Kafka and token clients) are imported when a command
# runs, not when `oversight` builds its parser: `oversight evaluate` should not pay for them.


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "token",
        help="print an access token for a demo user of the local OpenID Connect provider",
        description="The demo users are in oversight_runtime/reference/demo_users.yaml (and the README).",
    )
    parser.add_argument("user", help="a demo username, e.g. qkk.lead")
    parser.add_argument("--issuer", help="issuer URL (default: OVERSIGHT_AUTH_ISSUER or the local provider)")
    parser.set_defaults(run=run_token)


def run_token(args: argparse.Namespace) -> int:
    from oversight_runtime.demo_identity import TokenUnavailable, fetch_token, load_demo_users

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


# --- parked work: dead-letter topics and outbox rows ---------------------------------------


def register_dead_letters(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "dead-letters",
        help="list what consumers parked on the dead-letter topics, and send it back after a fix",
        description="Parked messages are named by their dead-letter partition and offset (P:O).",
    )
    parser.add_argument(
        "--bootstrap", help="Kafka bootstrap servers (default: OVERSIGHT_KAFKA_BOOTSTRAP_SERVERS)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every parked message with its error")
    listing.add_argument(
        "--topic", help="only those from this original topic, e.g. oversight.trigger.raised.v1"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    redrive = actions.add_parser("redrive", help="publish parked messages back to their original topic")
    redrive.add_argument(
        "--topic", required=True, help="the original topic, e.g. oversight.trigger.raised.v1"
    )
    chosen = redrive.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--at", nargs="+", metavar="P:O", help="dead-letter partition:offset of each message")
    chosen.add_argument("--all", action="store_true", help="every message parked from that topic")
    parser.set_defaults(run=lambda args: asyncio.run(_dead_letters(args)))


async def _dead_letters(args: argparse.Namespace) -> int:
    from oversight_runtime.redrive import CannotRedrive, parked_messages, redrive_messages

    bootstrap = args.bootstrap or ServiceSettings(service_name="cli").kafka_bootstrap_servers
    if args.action == "redrive" and args.at:
        bad = [place for place in args.at if not re.fullmatch(r"\d+:\d+", place)]
        if bad:
            print(
                f"oversight dead-letters: --at takes partition:offset, e.g. 0:17 (got {', '.join(bad)})",
                file=sys.stderr,
            )
            return 2
    messages = await parked_messages(bootstrap, args.topic)
    if args.action == "list":
        for message in messages:
            summary = message.summary()
            print(json.dumps(summary) if args.json else _line(summary))
        if not args.json:
            print(f"{len(messages)} parked message(s)")
        return 0
    if not args.all:
        by_place = {m.place: m for m in messages}
        missing = [place for place in args.at if place not in by_place]
        if missing:
            print(
                f"oversight dead-letters: nothing parked from {args.topic} at {', '.join(missing)}",
                file=sys.stderr,
            )
            return 2
        messages = [by_place[place] for place in args.at]
    try:
        sent = await redrive_messages(bootstrap, messages)
    except CannotRedrive as error:
        print(f"oversight dead-letters: {error}", file=sys.stderr)
        return 2
    print(f"re-drove {sent} message(s) to {args.topic}")
    return 0


def _line(summary: dict[str, object]) -> str:
    return (
        f"{summary['dead_letter_topic']} {summary['at']}  from {summary['original']}  "
        f"event {summary['event_id']}  key {summary['key']}  {summary['failure']} after "
        f"{summary['attempts']} attempt(s) in {summary['service']}: {summary['error']}"
        + ("  [excerpt only]" if summary["truncated"] else "")
    )


def register_outbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "outbox",
        help="list a service's outbox rows that could not be published, and release them after a fix",
    )
    parser.add_argument("--service", required=True, choices=sorted(DEFAULT_PORTS))
    parser.add_argument(
        "--database-url", help="the service's database (default: its OVERSIGHT_DATABASE_URL or SQLite file)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="parked rows with their errors")
    redrive = actions.add_parser("redrive", help="let the relay publish parked rows again")
    chosen = redrive.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--id", nargs="+", type=int, help="outbox row ids")
    chosen.add_argument("--all", action="store_true")
    parser.set_defaults(run=lambda args: asyncio.run(_outbox(args)))


async def _outbox(args: argparse.Namespace) -> int:
    from oversight_runtime.database import Database
    from oversight_runtime.redrive import parked_rows, redrive_rows

    settings = ServiceSettings(service_name=args.service)
    database = Database(args.database_url or settings.resolved_database_url)
    try:
        rows = await parked_rows(database)
        if args.action == "list":
            for row in rows:
                print(
                    f"{row.id}  {row.event_type}  event {row.event_id}  key {row.key}  parked {row.parked_at}: {row.last_error}"
                )
            print(f"{len(rows)} parked row(s) in {args.service}'s outbox")
            return 0
        if args.id:
            missing = sorted(set(args.id) - {r.id for r in rows})
            if missing:
                print(
                    f"oversight outbox: no parked row {', '.join(map(str, missing))} in {args.service}",
                    file=sys.stderr,
                )
                return 2
        released = await redrive_rows(database, None if args.all else args.id)
        print(f"released {released} row(s); {args.service}'s relay publishes them on its next sweep")
        return 0
    finally:
        await database.dispose()
