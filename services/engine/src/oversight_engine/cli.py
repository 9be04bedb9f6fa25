"""``oversight evaluate SCENARIO``: run the services' engine on a scenario file, print JSON.

Exit status 0 with the evaluation on stdout; 2 with one line per problem on stderr when the
scenario is not valid (malformed JSON, a field out of shape, an unknown metric or framework),
each naming the field and the bad value, e.g. ``observations.0.period: ... (got "2026-13")``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import ValidationError

from oversight_contracts.frameworks import available_packs
from oversight_contracts.scenario import Scenario
from oversight_engine.evaluate import ScenarioError, evaluate


def _read(source: str) -> str:
    return sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")


def _got(problem: Mapping[str, object]) -> str:
    """`` (got <the bad value>)`` for a bad value given in the file, as JSON; else nothing.

    Not for a missing field (its input is the enclosing object) or an object or list (too long to
    echo usefully); a long string is cut short.
    """
    value = problem.get("input")
    if problem["type"] == "missing" or isinstance(value, dict | list):
        return ""
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return f" (got {shown if len(shown) <= 80 else shown[:77] + '...'})"


def run_evaluate(source: str, framework: str | None) -> int:
    try:
        document = json.loads(_read(source))
        if framework is not None and isinstance(document, dict):
            document["framework"] = framework
        scenario = Scenario.model_validate(document)
        result = evaluate(scenario)
    except OSError as error:
        print(f"oversight evaluate: cannot read {source}: {error.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as error:
        print(f"oversight evaluate: {source} is not JSON: {error}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as error:  # JSON text is UTF-8 (RFC 8259)
        print(
            f"oversight evaluate: {source} is not JSON: not UTF-8 text ({error.reason} at byte {error.start})",
            file=sys.stderr,
        )
        return 2
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(p) for p in problem["loc"]) or "(scenario)"
            print(f"oversight evaluate: {where}: {problem['msg']}{_got(problem)}", file=sys.stderr)
        return 2
    except ScenarioError as error:
        print(f"oversight evaluate: {error}", file=sys.stderr)
        return 2
    print(result.model_dump_json(indent=2))
    return 0


def main(argv: list[str] | None = None) -> None:
    """``oversight evaluate``, plus the commands other packages plug in through the
    ``oversight.commands`` entry point group (each a ``register(subparsers)`` that sets ``run``)."""
    parser = argparse.ArgumentParser(prog="oversight", description="NHS oversight platform tools")
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate_cmd = commands.add_parser(
        "evaluate", help="evaluate one provider's scenario file under a framework pack"
    )
    evaluate_cmd.add_argument("scenario", help="scenario JSON file, or - for standard input")
    evaluate_cmd.add_argument(
        "--framework", help=f"override the scenario's framework ({', '.join(available_packs())})"
    )
    evaluate_cmd.set_defaults(run=lambda args: run_evaluate(args.scenario, args.framework))
    for plugin in sorted(entry_points(group="oversight.commands"), key=lambda e: e.name):
        plugin.load()(commands)
    args = parser.parse_args(argv)
    sys.exit(args.run(args))
