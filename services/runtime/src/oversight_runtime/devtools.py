"""Maintainer commands.

- ``revision <package> -m "why"``: autogenerate an Alembic revision for one service against a
  scratch SQLite database brought to head first, so the revision holds only what changed.
- ``artefacts [--check]``: write (or check) the generated contract artefacts: a JSON Schema per
  event type, the ``oversight evaluate`` input and output and the framework pack format, and an
  AsyncAPI document per service. ``--check`` fails when they are stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config


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
    return files


def _dump(document: object) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def artefacts(check: bool) -> int:
    stale = []
    for path, text in generated_artefacts().items():
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
