"""The figures as a Markdown table (to paste into the README) with the issue's targets beside
them, the machine they were measured on, and the same as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The issue's targets, in the words the table shows.
TARGETS = {
    "ratio": "≥ 25 % of the relay",
    "metrics": "≥ 2,000 observations/s",
    "e2e_load": "p99 < 1 s",
    "backlog": "≤ 5 s after the load stops",
    "replay": "1,000,000 in < 5 min",
    "single": "≥ 500 returns/s, p99 < 250 ms",
    "bulk": "≥ 5,000 observations/s",
}
REPLAY_TARGET_EVENTS = 1_000_000
REPLAY_TARGET_SECONDS = 300


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max in milliseconds (nearest rank: a p99 is a latency some request had)."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 1)

    return {
        "n": len(ordered),
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:  # Linux only, as the platform
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    affinity: Callable[[int], set[int]] | None = getattr(os, "sched_getaffinity", None)
    return {
        "cores": len(affinity(0)) if affinity else os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _n(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _ms(figures: dict[str, Any]) -> str:
    return " / ".join(_n(figures.get(k), 0) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")) + " ms"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


Row = tuple[str, str, str, str]


def _ran_out(figures: dict[str, Any]) -> str:
    if not figures.get("ran_out"):
        return ""
    return f"; every distinct return sent after {figures['seconds']} s (each (trust, month) once)"


def _drain_rows(drains: dict[str, Any], relay_rate: float | None) -> list[Row]:
    rows: list[Row] = []
    for service, d in drains.items():
        name = f"(b) {service} drains `{d.get('topic', '?').removeprefix('oversight.')}`"
        if "error" in d:
            rows.append((name, f"error: {d['error']}", "", "n/a"))
            continue
        rate = d["per_second"]
        ratio = rate / relay_rate if rate and relay_rate else None
        caveats = [] if d["complete"] else [f"**incomplete: {d['committed']} of {d['events']}**"]
        if d["rate_basis"] != "after the first commit":
            caveats.append(f"rate {d['rate_basis']}")
        if d["parked"]:
            caveats.append(f"**{d['parked']} parked**")
        tail = (
            f"; {_n(ratio * 100 if ratio else None, 1)} % of relay; start-up to first commit "
            f"{_n(d['startup_to_first_commit_s'], 1)} s; parked {d['parked']}"
        )
        valid = d["complete"] and not d["parked"]
        if service == "metrics":
            obs = rate * d["observations_per_return"] if rate else None
            figure = f"{_n(rate, 1)} returns/s = {_n(obs)} observations/s ({d['events']} returns)" + tail
            ok = obs >= 2000 and valid if obs is not None else None
            rows.append((name, "; ".join([figure, *caveats]), TARGETS["metrics"], _verdict(ok)))
        else:
            figure = f"{_n(rate, 1)} events/s ({d['events']} events)" + tail
            ok = ratio >= 0.25 and valid if ratio is not None else None
            rows.append((name, "; ".join([figure, *caveats]), TARGETS["ratio"], _verdict(ok)))
    return rows


def rows(results: dict[str, Any]) -> list[Row]:
    table: list[Row] = []
    relay = results.get("relay", {})
    relay_rate = relay.get("per_second")
    if "error" in relay:
        table.append(("(a) raw aiokafka relay", f"error: {relay['error']}", "the ceiling", "n/a"))
    elif relay:
        table.append(
            (
                "(a) raw aiokafka relay (getmany 500, produce, commit per batch)",
                f"{_n(relay_rate)} messages/s ({relay['messages']} of ~{relay['message_bytes']} B)",
                "the ceiling",
                "",
            )
        )
    table += _drain_rows(results.get("drain", {}), relay_rate)
    e2e = results.get("e2e", {})
    if "error" in e2e:
        table.append(("(c) end to end", f"error: {e2e['error']}", TARGETS["e2e_load"], "n/a"))
    elif e2e:
        idle, load = e2e["idle"], e2e["load"]
        table.append(
            (
                "(c) report → alert, idle: p50 / p95 / p99 / max",
                f"{_ms(idle)} (n={idle['n']}, missing {idle['missing']})",
                "",
                "",
            )
        )
        sent = load["returns"]
        p99 = load.get("p99_ms")
        table.append(
            (
                "(c) report → alert under load: p50 / p95 / p99 / max",
                f"{_ms(load)} (n={load['n']}, missing {load['missing']}) at "
                f"{_n(sent['observations_per_second'])} observations/s accepted "
                f"({_n(sent['returns_per_second'], 1)} returns/s for {sent['seconds']} s; ingest p99 "
                f"{_n(sent['request']['p99_ms'])} ms; most lag {load['max_total_lag']})",
                TARGETS["e2e_load"],
                _verdict(p99 < 1000 and not load["missing"] if p99 is not None else None),
            )
        )
        backlog = e2e["no_backlog_after_s"]
        table.append(
            (
                "(c) no backlog (every group's lag 0) after the load stops",
                f"{_n(backlog, 1)} s" if backlog is not None else f"> {e2e['backlog_timeout_s']} s",
                TARGETS["backlog"],
                _verdict(backlog is not None and backlog <= 5),
            )
        )
    replay = results.get("replay", {})
    if "error" in replay:
        table.append(("(d) replay", f"error: {replay['error']}", TARGETS["replay"], "n/a"))
    elif replay:
        rate = replay["per_second"]
        projected = REPLAY_TARGET_EVENTS / rate if rate else None
        table.append(
            (
                "(d) replay: fresh group, every topic, decode + SQLite read model",
                f"{replay['read']:,} events in {_n(replay['seconds'], 1)} s = {_n(rate)} events/s "
                f"(1,000,000 in {_n(projected)} s; {replay['undecodable']} undecodable); produced "
                f"at {_n(replay['produce_per_second'])}/s",
                TARGETS["replay"],
                _verdict(projected < REPLAY_TARGET_SECONDS if projected else None),
            )
        )
    ingest = results.get("ingest", {})
    if "error" in ingest:
        table.append(("(e) ingest", f"error: {ingest['error']}", TARGETS["single"], "n/a"))
    elif ingest:
        single = ingest["single"]
        request = single["request"]
        table.append(
            (
                f"(e) ingest `POST /v1/submissions`, {single['clients']} clients",
                f"{_n(single['requests_per_second'], 1)} returns/s; p50 / p99 / max "
                f"{_n(request['p50_ms'])} / {_n(request['p99_ms'])} / {_n(request['max_ms'])} ms; "
                f"statuses {single['statuses']}" + _ran_out(single),
                TARGETS["single"],
                _verdict(single["requests_per_second"] >= 500 and (request["p99_ms"] or 1e9) < 250),
            )
        )
        bulk = ingest.get("bulk", {})
        if "skipped" in bulk:
            table.append(("(e) ingest `POST /v1/submissions/bulk`", bulk["skipped"], TARGETS["bulk"], "n/a"))
        elif bulk:
            table.append(
                (
                    f"(e) ingest `POST /v1/submissions/bulk` of {bulk['returns_per_request']}, "
                    f"{bulk['clients']} clients",
                    f"{_n(bulk['observations_per_second'])} observations/s "
                    f"({_n(bulk['requests_per_second'], 1)} requests/s); request p99 "
                    f"{_n(bulk['request']['p99_ms'])} ms; statuses {bulk['statuses']}" + _ran_out(bulk),
                    TARGETS["bulk"],
                    _verdict(bulk["observations_per_second"] >= 5000),
                )
            )
    return table


def markdown(results: dict[str, Any], host: dict[str, Any], database: str = "sqlite") -> str:
    lines = ["| Measure | Figure | Target | Met |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in rows(results)]
    lines.append("")
    lines.append(
        f"Measured on {host['cores']} cores ({host['cpu']}), Python {host['python']}, {host['date']}, "
        f"services on {'PostgreSQL' if database == 'postgres' else 'SQLite (the embedded default)'}; "
        f"load average {host['load_average'][0]} when the run ended."
    )
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
