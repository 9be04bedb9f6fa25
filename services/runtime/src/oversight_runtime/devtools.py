"""Maintainer commands.

- ``revision <package> -m "why"``: autogenerate an Alembic revision for one service against a
  scratch SQLite database brought to head first, so the revision holds only what changed.
- ``artefacts [--check]``: write (or check) the generated contract artefacts: a JSON Schema per
  event type, the ``oversight evaluate`` input and output and the framework pack format, an
  AsyncAPI document per service, and the docker-compose demo's OpenID Connect provider config. ``--check`` fails when they are stale. An event type is
  recorded in ``contracts/released.json`` the first time artefacts are written for it; after that
  its schema may not change (see ``oversight_contracts.events``): artefacts refuses, and says
  which types need a new version instead.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from oversight_contracts import Envelope


def revision(package: str, message: str) -> None:
    migrations = Path(importlib.import_module(package).__file__ or "").parent / "migrations"
    (migrations / "versions").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        config = Config()
        config.set_main_option("script_location", str(migrations))
        config.set_main_option("sqlalchemy.url", f"sqlite+aiosqlite:///{scratch}/scratch.db")
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


def generated_artefacts() -> dict[Path, str]:
    """Every generated contract file, by path, as it should read."""
    from oversight_contracts import ALL_EVENTS
    from oversight_runtime.platform import REPO_ROOT, SERVICES
    from oversight_runtime.settings import ServiceSettings

    contracts = REPO_ROOT / "contracts"
    files: dict[Path, str] = {}
    for event in ALL_EVENTS:
        schema = event.model_json_schema()
        schema["$id"] = f"urn:nhs-oversight:event:{event.event_type()}"
        schema["x-topic"] = event.topic()
        files[contracts / "schemas" / f"{event.event_type()}.json"] = _dump(schema)
    from oversight_contracts.frameworks import FrameworkPack
    from oversight_contracts.scenario import Evaluation, Scenario

    for name, model in (
        ("scenario", Scenario),
        ("evaluation", Evaluation),
        ("framework-pack", FrameworkPack),
    ):
        schema = model.model_json_schema()
        schema["$id"] = f"urn:nhs-oversight:{name}"
        files[contracts / "schemas" / "evaluate" / f"{name}.json"] = _dump(schema)
    for spec in SERVICES:
        settings = ServiceSettings(service_name=spec.name, trace_file=None)
        document = json.loads(spec.create(settings).asyncapi())
        files[contracts / "asyncapi" / f"{spec.name}.json"] = _dump(document)
    files[REPO_ROOT / "deploy" / "oidc" / "compose-config.json"] = _dump(_compose_issuer_config())
    return files


def _compose_issuer_config() -> dict[str, Any]:
    """The docker-compose demo's provider: the demo users; its built-in (public) keys."""
    from oversight_runtime.demo_identity import issuer_config, load_demo_users
    from oversight_runtime.settings import AuthSettings

    auth = AuthSettings()
    return issuer_config(
        load_demo_users(), audience=auth.audience, signing_key=None, mapping=auth.claim_mapping()
    )


def wire_shape(schema: dict[str, Any]) -> Any:
    """What a consumer's validation depends on: references inlined, titles and prose dropped.

    Renaming a class or rewording a docstring changes the JSON Schema text but no consumer.
    """
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items() if k not in {"title", "description", "$defs"}}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def schema_fingerprint(event: type[Envelope[Any]]) -> str:
    shape = json.dumps(wire_shape(event.model_json_schema()), sort_keys=True)
    return hashlib.sha256(shape.encode()).hexdigest()


def released_path() -> Path:
    from oversight_runtime.platform import REPO_ROOT

    return REPO_ROOT / "contracts" / "released.json"


def read_released() -> dict[str, str]:
    path = released_path()
    return dict(json.loads(path.read_text("utf-8"))) if path.exists() else {}


def changed_released_versions() -> list[str]:
    """Event types whose schema differs from the one they were released with."""
    from oversight_contracts import ALL_EVENTS

    released = read_released()
    return [
        e.event_type()
        for e in ALL_EVENTS
        if e.event_type() in released and released[e.event_type()] != schema_fingerprint(e)
    ]


def _dump(document: object) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def artefacts(check: bool) -> int:
    from oversight_contracts import ALL_EVENTS

    if changed := changed_released_versions():
        print(
            "released event types changed; give the change a new version instead:",
            *changed,
            sep="\n  ",
        )
        return 1
    files = generated_artefacts()
    released = read_released()
    files[released_path()] = _dump(
        {
            **released,
            **{e.event_type(): schema_fingerprint(e) for e in ALL_EVENTS if e.event_type() not in released},
        }
    )
    stale = []
    for path, text in files.items():
        current = path.read_text("utf-8") if path.exists() else None
        if current != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, "utf-8")
    if check and stale:
        print("stale contract artefacts (run `make artefacts`):", *stale, sep="\n  ")
        return 1
    print(f"{'checked' if check else 'wrote'} contract artefacts; {len(stale)} changed")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="oversight_runtime.devtools")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate a migration for one service")
    rev.add_argument("package", help="e.g. oversight_ingest")
    rev.add_argument("-m", "--message", required=True)
    art = sub.add_parser("artefacts", help="write or check JSON Schemas and AsyncAPI documents")
    art.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.command == "revision":
        revision(args.package, args.message)
    else:
        sys.exit(artefacts(args.check))


if __name__ == "__main__":
    main()
