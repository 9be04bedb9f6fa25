"""The command line: options, the order of the measures, and stopping everything at the end."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any

from oversight_contracts.frameworks import load_pack
from oversight_runtime.reference import load_registry
from oversight_runtime.settings import ServiceSettings
from pipeline import drains as drain_measures
from pipeline import e2e, ingest, kafka_measures, report, workload
from pipeline.stack import READER, REPO, Stack, bench_users, log, without_inherited_settings

#: Measures in the order they run: the broker-only ones first and the replay last, so that its
#: million events are not on the broker while the services are measured.
PHASES = ("relay", "drain", "e2e", "ingest", "replay")
DRAINED = ("metrics", "segmentation", "support-coordination", "notification")

#: Sizes of the default run (at most ~10-12 minutes on two cores) and of ``--quick`` (~2).
FULL: dict[str, Any] = {
    "relay_messages": 100_000,
    "metrics_returns": 4_000,
    "drain_events": 10_000,
    "drain_timeout": 150.0,
    "idle_samples": 40,
    "idle_interval": 1.0,
    "load_seconds": 60.0,
    "load_sample_interval": 1.0,
    "backlog_timeout": 120.0,
    "alert_timeout": 30.0,
    "ingest_seconds": 20.0,
    "replay_events": 1_000_000,
}
QUICK: dict[str, Any] = {
    "relay_messages": 3_000,
    "metrics_returns": 100,
    "drain_events": 300,
    "drain_timeout": 60.0,
    "idle_samples": 8,
    "idle_interval": 0.5,
    "load_seconds": 10.0,
    "load_sample_interval": 1.0,
    "backlog_timeout": 30.0,
    "alert_timeout": 20.0,
    "ingest_seconds": 5.0,
    "replay_events": 30_000,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/pipeline.py",
        description="Throughput and latency of the event pipeline on a real broker and real service "
        "processes (a benchmark, not a test). Sizes left unset take the default run's, or --quick's.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes: a ~2-minute smoke run")
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    p.add_argument("--drain-services", default=",".join(DRAINED), help="which services (b) drains")
    size = p.add_argument_group("sizes (default run / --quick)")

    def add(name: str, kind: type[Any], help: str) -> None:
        key = name.removeprefix("--").replace("-", "_")
        full, quick = (f"{v:,}" if isinstance(v, int) else f"{v:g}" for v in (FULL[key], QUICK[key]))
        size.add_argument(name, type=kind, default=None, help=f"{help} ({full} / {quick})")

    add("--relay-messages", int, "(a) messages pre-loaded and relayed")
    add("--metrics-returns", int, "(b) returns metrics drains")
    add("--drain-events", int, "(b) events support coordination and notification drain; segmentation at most")
    add("--drain-timeout", float, "(b) seconds a drain may take before it is reported incomplete")
    add("--idle-samples", int, "(c) exception reports timed at idle")
    add("--idle-interval", float, "(c) seconds between idle samples")
    add("--load-seconds", float, "(c) seconds of load")
    add("--load-sample-interval", float, "(c) seconds between samples under load")
    add("--backlog-timeout", float, "(c) seconds to wait for no backlog after the load")
    add("--alert-timeout", float, "(c) seconds to wait for the last sample's alert")
    add("--ingest-seconds", float, "(e) seconds of each of single and bulk requests")
    add("--replay-events", int, "(d) events put on the topics and replayed")
    p.add_argument(
        "--open-triggers-per-theme",
        type=int,
        default=None,
        help="(b) at most this many open triggers per trust and theme in segmentation's drain (no "
        "limit): it drains each (trust, trigger key) the engine raises on the synthetic returns once, "
        "as metrics would raise it, ~1,000 events",
    )
    p.add_argument("--load-obs-rate", type=float, default=1000.0, help="(c) observations/s of load (1000)")
    p.add_argument("--load-clients", type=int, default=16, help="(c) most load requests in flight (16)")
    p.add_argument("--ingest-clients", type=int, default=16, help="(e) concurrent single clients (16)")
    p.add_argument("--bulk-size", type=int, default=100, help="(e) returns per bulk request (100)")
    p.add_argument("--bulk-clients", type=int, default=4, help="(e) concurrent bulk clients (4)")
    p.add_argument("--seed", type=int, default=2019, help="synthetic returns' seed (2019)")
    p.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the services' store: the embedded default (sqlite) or PostgreSQL, as in production",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp directory (logs, data, broker)")
    p.add_argument(
        "--json-out", type=Path, default=REPO / "var" / "bench" / "pipeline.json", help="figures as JSON"
    )
    return p


def options(argv: list[str] | None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.phases = [x for x in args.phases.split(",") if x]
    args.drain_services = [x for x in args.drain_services.split(",") if x]
    if unknown := set(args.phases) - set(PHASES):
        p.error(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
    if unknown := set(args.drain_services) - set(DRAINED):
        p.error(f"unknown services {sorted(unknown)}; choose from {', '.join(DRAINED)}")
    return args


def returns_needed(args: argparse.Namespace, metrics: int) -> int:
    """Distinct returns to make: as many as the calendar allows (~10,000: 33 trusts times the
    months since 2000), which a fast ingest may use up and which give segmentation's drain its
    ~1,000 distinct triggers, whichever measures run; fewer for ``--quick``."""
    load = args.load_obs_rate / metrics * args.load_seconds * 2
    return int(max(args.metrics_returns, load, 2_000 if args.quick else 20_000))


def describe(error: BaseException) -> str:
    """One line for the table: the type and the first line of the message."""
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


def run(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    return asyncio.run(coroutine)


def measure(stack: Stack, args: argparse.Namespace, load: workload.Workload) -> dict[str, Any]:
    """Every chosen measure, each on its own: one that fails is reported and the next runs."""
    results: dict[str, Any] = {}
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "relay": lambda: run(kafka_measures.relay(stack.bootstrap, load, args.relay_messages)),
        "drain": lambda: drains(stack, args, load),
        "e2e": lambda: run(e2e.end_to_end(stack, load, args)),
        "ingest": lambda: run(ingest.ingest_writes(stack, load, args)),
        "replay": lambda: run(
            kafka_measures.replay(stack.bootstrap, load, args.replay_events, stack.workdir)
        ),
    }
    for phase in PHASES:
        if phase not in args.phases:
            continue
        started = time.monotonic()
        log(f"--- {phase} ---")
        try:
            results[phase] = steps[phase]()
        except Exception as error:
            traceback.print_exc()
            results[phase] = {"error": describe(error)}
            stack.stop_services()
        log(f"--- {phase} took {time.monotonic() - started:.0f} s ---")
    return results


def drains(stack: Stack, args: argparse.Namespace, load: workload.Workload) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for service in args.drain_services:
        try:
            if service == "metrics":
                events: list[Any] = [load.submission(r) for r in load.interleaved()[: args.metrics_returns]]
            elif service == "segmentation":
                events = load.triggers(
                    args.drain_events, distinct=True, open_per_theme=args.open_triggers_per_theme
                )
            elif service == "support-coordination":
                events = load.needs(args.drain_events)
            else:
                events = load.packages(args.drain_events)
            results[service] = run(drain_measures.drain(stack, service, events, args.drain_timeout))
            if service == "metrics":
                results[service]["observations_per_return"] = load.observations_per_return
        except Exception as error:
            traceback.print_exc()
            results[service] = {"error": describe(error)}
            stack.stop_services()
    return results


def start_and_measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """The broker, the provider with the benchmark's users, the workload, then the measures."""
    log(f"workdir {stack.workdir}; starting the Kafka broker")
    stack.start_broker()
    registry = load_registry()
    users = bench_users(registry)
    log(f"broker on {stack.bootstrap}; starting the OpenID Connect provider ({len(users.users)} users)")
    stack.start_issuer(users)
    if args.database == "postgres":
        log("starting PostgreSQL")
        stack.start_postgres()
    for user in users.users:  # tokens before any clock starts
        stack.headers(user.username)
    pack = load_pack(ServiceSettings(service_name="bench").framework)  # the services' pack
    load = workload.build(registry, pack, returns=returns_needed(args, len(pack.metrics)), seed=args.seed)
    log(
        f"workload: {sum(len(r) for r in load.returns.values())} distinct returns of "
        f"{load.observations_per_return:.0f} observations for {len(load.providers)} trusts; "
        f"stream reader {READER}"
    )
    return measure(stack, args, load)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    dropped = without_inherited_settings()
    if dropped:
        log(f"ignoring {', '.join(dropped)}: the services run on the embedded defaults")

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds into the finally below, which stops everything

    signal.signal(signal.SIGTERM, on_signal)
    host_before = report.machine()
    stack = Stack(keep=args.keep, database=args.database)
    try:
        results = start_and_measure(stack, args)
    except KeyboardInterrupt:
        results = None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stops short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("stopping everything")
        stack.close()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if results is None:
        log("interrupted; everything the run started is stopped")
        return 130
    host = report.machine()
    document = {
        "machine": host,
        "load_average_at_start": host_before["load_average"],
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": results,
        "table": [
            dict(zip(("measure", "figure", "target", "met"), row, strict=True))
            for row in report.rows(results)
        ],
    }
    report.write_json(args.json_out, document)
    print()
    print(report.markdown(results, host, args.database))
    print(f"\n(JSON: {args.json_out}; load average at start {host_before['load_average'][0]})")
    return 0
