"""Throughput of the oversight engine on one core: evaluations per second.

A plain script, not a test (pytest collects ``tests/`` only, and nothing here is named ``test_*``)::

    python benchmarks/engine_throughput.py [--trusts 230] [--months 12] [--repeat 5]
                                           [--framework nof-2019] [--seed 2019] [--json] [--profile]

It generates deterministic synthetic returns (``random.Random(seed)``): for each trust a random walk
around a plausible level for every metric of the pack (A&E four-hour performance between 70% and
95%, finance metrics near the finance-score thresholds, quality counts as small integers, ...),
with an occasional shock so that SPC signals fire, plus a mix of facts (CQC ratings, licence,
special measures for a few, the current segment), a few exception reports and material concerns.

Two measures, each repeated ``--repeat`` times (best and median reported):

* ``year``: one evaluation per trust, as of the day after the last month, with every month of
  returns (``trusts`` evaluations): a national refresh.
* ``monthly``: each trust as of each month-end, with the returns that had arrived by then
  (``trusts x months`` evaluations): what the metrics service does as returns arrive.

Every scenario is built before the clock starts; only ``oversight_engine.evaluate`` is timed.
The process is pinned to the first CPU it may run on, where the platform allows it.
"""

from __future__ import annotations

import argparse
import calendar
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, get_args

from oversight_engine import evaluate

from oversight_contracts.codes import ExceptionReportCategory, Theme
from oversight_contracts.frameworks import (
    Direction,
    FrameworkPack,
    MetricRule,
    Rating,
    available_packs,
    load_pack,
)
from oversight_contracts.scenario import (
    CqcRatings,
    Evaluation,
    Licence,
    MaterialConcern,
    Observation,
    ProviderFacts,
    Scenario,
    ScenarioExceptionReport,
    ScenarioProvider,
    SpecialMeasures,
)

#: The last month of returns; scenarios for the year are evaluated as of the next day.
LAST_MONTH = (2026, 10)
YEAR_AS_OF = date(2026, 11, 1)


# --- synthetic data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """A random walk: start uniformly in [low, high], step ~ N(0, step), pulled back to the start."""

    low: float
    high: float
    step: float
    decimals: int = 1


@dataclass(frozen=True)
class Counts:
    """Monthly counts ~ Poisson, with a trust's rate uniform in [low, high]."""

    low: float
    high: float


Profile = Walk | Counts

#: Plausible levels for the 28 metrics of nof-2019 (nof-2025 keeps the same ids).
PROFILES: dict[str, Profile] = {
    # Finance: around the finance-score thresholds (para 40), so scores of 1 to 4 all occur.
    "fin_capital_service_capacity": Walk(1.0, 3.0, 0.12, 2),
    "fin_liquidity_days": Walk(-18.0, 6.0, 1.5),
    "fin_ie_margin_pct": Walk(-2.0, 2.0, 0.25, 2),
    "fin_distance_from_plan_pct": Walk(-2.5, 0.8, 0.25, 2),
    "fin_agency_spend_vs_cap_pct": Walk(-10.0, 60.0, 5.0),
    # Operational performance: most trusts short of the constitutional standards, a few meeting them.
    "op_ae_4hr_pct": Walk(70.0, 96.0, 1.2),
    "op_rtt_18wk_pct": Walk(55.0, 93.0, 0.8),
    "op_cancer_62d_pct": Walk(60.0, 90.0, 2.0),
    "op_cancer_2ww_pct": Walk(75.0, 97.0, 1.5),
    "op_diagnostics_6wk_pct": Walk(0.3, 25.0, 1.2),
    "op_amb_cat1_mean_min": Walk(6.0, 9.5, 0.25, 2),
    "op_amb_cat1_p90_min": Walk(11.0, 17.0, 0.5),
    "op_amb_cat2_mean_min": Walk(15.0, 45.0, 2.5),
    "op_amb_cat2_p90_min": Walk(32.0, 95.0, 5.0),
    "op_iapt_6wk_pct": Walk(75.0, 98.0, 1.2),
    "op_eip_2wk_pct": Walk(45.0, 85.0, 3.5),
    # Quality of care: small counts and rates.
    "q_never_events": Counts(0.02, 0.4),
    "q_hsmr": Walk(85.0, 115.0, 2.5),
    "q_c_diff_cases": Counts(1.0, 8.0),
    "q_mrsa_cases": Counts(0.02, 0.4),
    "q_complaints_rate": Walk(5.0, 25.0, 1.5),
    "q_staff_fft_care_pct": Walk(60.0, 90.0, 1.2),
    # Leadership and improvement capability.
    "lead_sickness_absence_pct": Walk(3.5, 6.5, 0.25, 2),
    "lead_staff_turnover_pct": Walk(8.0, 16.0, 0.4),
    "lead_exec_vacancy_pct": Walk(0.0, 20.0, 2.5),
    "lead_bullying_harassment_pct": Walk(15.0, 30.0, 0.8),
    "lead_teamwork_score": Walk(6.3, 7.3, 0.05, 2),
    "lead_inclusion_score": Walk(6.7, 7.7, 0.05, 2),
}

KINDS = ("acute", "acute", "acute", "mental_health", "community", "ambulance")
REGIONS = ("Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63")
CQC_RATINGS = (
    [Rating.OUTSTANDING] * 2 + [Rating.GOOD] * 11 + [Rating.REQUIRES_IMPROVEMENT] * 6 + [Rating.INADEQUATE]
)
MEASURES: tuple[SpecialMeasures, ...] = get_args(SpecialMeasures)
LICENCES: tuple[Licence, ...] = get_args(Licence)


def _fallback_profile(rule: MetricRule) -> Profile:
    """A profile for a metric a newer pack adds: its score band, else its standard, else its bounds."""
    if rule.score is not None:
        low, high = sorted((rule.score.best, rule.score.worst))
    elif rule.standard is not None:
        spread = max(abs(rule.standard.threshold) * 0.15, 1.0)
        low, high = rule.standard.threshold - spread, rule.standard.threshold + spread
    else:
        low = rule.minimum if rule.minimum is not None else 0.0
        high = rule.maximum if rule.maximum is not None else low + 10.0
    return Walk(low, high, (high - low) / 20 or 0.1, 2)


def _poisson(rng: random.Random, rate: float) -> int:
    threshold, count, product = math.exp(-rate), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _clamp(value: float, rule: MetricRule) -> float:
    if rule.minimum is not None:
        value = max(value, rule.minimum)
    if rule.maximum is not None:
        value = min(value, rule.maximum)
    return value


def _walk(
    rng: random.Random, profile: Profile, rule: MetricRule, months: int, strength: float
) -> list[float]:
    """One trust's monthly values; a stronger trust (``strength`` near 1) starts nearer the better end."""
    place = rng.random() * (1 - 0.8 * strength)  # 0 is the better end of the profile, 1 the worse
    if isinstance(profile, Counts):
        rate = profile.low + (profile.high - profile.low) * place
        return [float(_poisson(rng, rate * (3 if rng.random() < 0.03 else 1))) for _ in range(months)]
    higher_is_better = rule.direction is Direction.HIGHER_IS_BETTER
    better, worse = (profile.high, profile.low) if higher_is_better else (profile.low, profile.high)
    level = better + (worse - better) * place
    # A few trusts improve or deteriorate steadily; the rest wander around their level.
    drift = rng.gauss(0, profile.step * 0.5) if rng.random() < 0.15 else 0.0
    value, values = level, []
    for month in range(months):
        value += rng.gauss(0, profile.step) + 0.6 * (level + drift * month - value)
        shock = rng.random() < 0.02  # an occasional bad month, so that SPC limits are crossed
        sign = -1 if higher_is_better else 1
        point = value + (sign * 5 * profile.step if shock else 0.0)
        values.append(round(_clamp(point, rule), profile.decimals))
    return values


def _month_periods(months: int) -> list[tuple[int, int]]:
    year, month = LAST_MONTH
    first = year * 12 + month - 1 - (months - 1)
    return [((first + i) // 12, (first + i) % 12 + 1) for i in range(months)]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _facts(rng: random.Random, scored: bool, strength: float) -> ProviderFacts:
    worst_dropped = int(len(CQC_RATINGS) * 0.6 * strength)  # a strong trust is rarely rated badly
    overall = rng.choice(CQC_RATINGS[: len(CQC_RATINGS) - worst_dropped])

    def rating() -> Rating:  # mostly the overall rating, sometimes any other
        return overall if rng.random() < 0.75 else rng.choice(CQC_RATINGS)

    measures: SpecialMeasures = "none"
    if rng.random() < 0.04:
        measures = rng.choice(MEASURES[1:])
    licence = rng.choices(LICENCES, weights=(85, 10, 5))[0]
    # Drawn under every pack, so that both packs see the same returns for the same seed.
    deficit_known, in_deficit, intensive = rng.random() < 0.5, rng.random() < 0.3, rng.random() < 0.05
    return ProviderFacts(
        cqc=CqcRatings(
            overall=overall,
            safe=rating(),
            effective=rating(),
            caring=rng.choice((Rating.GOOD, Rating.OUTSTANDING)),
            responsive=rating(),
            well_led=rating(),
        )
        if rng.random() < 0.95
        else None,
        use_of_resources=rating() if rng.random() < 0.7 else None,
        control_total_agreed=rng.random() < 0.9,
        licence=licence,
        special_measures=measures,
        seven_day_standards_met=rng.random() < 0.8,
        current_segment=rng.choices((1, 2, 3, 4), weights=(20, 50, 22, 8))[0],
        in_financial_deficit=in_deficit if scored and deficit_known else None,
        intensive_support=intensive if scored else None,
    )


def _day_in(rng: random.Random, periods: Sequence[tuple[int, int]]) -> date:
    year, month = rng.choice(periods)
    return date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))


def _events(
    rng: random.Random, periods: Sequence[tuple[int, int]]
) -> tuple[list[ScenarioExceptionReport], list[MaterialConcern]]:
    reports = []
    if rng.random() < 0.15:
        for _ in range(rng.randint(1, 2)):
            received = _day_in(rng, periods)
            category = rng.choice(list(ExceptionReportCategory))
            resolved = received + timedelta(days=rng.randint(20, 120)) if rng.random() < 0.5 else None
            reports.append(
                ScenarioExceptionReport(
                    category=category,
                    received=received,
                    summary=f"Synthetic {category.value.replace('_', ' ')}",
                    resolved=resolved,
                )
            )
    concerns = []
    if rng.random() < 0.08:
        theme = rng.choice(list(Theme))
        concerns.append(
            MaterialConcern(
                theme=theme, raised=_day_in(rng, periods), summary=f"Synthetic {theme.value} concern"
            )
        )
    return reports, concerns


@dataclass(frozen=True)
class Workload:
    year: list[Scenario]
    monthly: list[Scenario]
    observations: int


def build_workload(pack: FrameworkPack, trusts: int, months: int, seed: int) -> Workload:
    """Every scenario both measures evaluate, built once and before any timing."""
    rng = random.Random(seed)
    periods = _month_periods(months)
    scored = pack.segmentation.method == "scored"
    year: list[Scenario] = []
    monthly: list[Scenario] = []
    observations = 0
    for i in range(trusts):
        provider = ScenarioProvider(
            ods_code=f"R{i:04d}",
            name=f"Synthetic NHS Trust {i}",
            kind=rng.choice(KINDS),
            icbs=[f"Q{rng.randint(0, 99):02d}"],
            region=rng.choice(REGIONS),
        )
        strength = rng.random() ** 2  # most trusts middling, a few strong across the board
        by_month: list[list[Observation]] = [[] for _ in periods]
        for metric, rule in pack.metrics.items():
            profile = PROFILES.get(metric) or _fallback_profile(rule)
            for m, value in enumerate(_walk(rng, profile, rule, months, strength)):
                year_, month_ = periods[m]
                by_month[m].append(
                    Observation(metric=metric, period=f"{year_:04d}-{month_:02d}", value=value)
                )
        facts = _facts(rng, scored, strength)
        reports, concerns = _events(rng, periods)
        every = [o for month in by_month for o in month]
        observations += len(every)
        year.append(
            Scenario(
                framework=pack.id,
                as_of=YEAR_AS_OF,
                provider=provider,
                observations=every,
                facts=facts,
                exception_reports=reports,
                material_concerns=concerns,
            )
        )
        for m, (year_, month_) in enumerate(periods):
            as_of = _month_end(year_, month_)
            monthly.append(
                Scenario(
                    framework=pack.id,
                    as_of=as_of,
                    provider=provider,
                    observations=[o for month in by_month[: m + 1] for o in month],
                    facts=facts,
                    exception_reports=[r for r in reports if r.received <= as_of],
                    material_concerns=[c for c in concerns if c.raised <= as_of],
                )
            )
    return Workload(year, monthly, observations)


# --- timing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    name: str
    evaluations: int
    repeats: int
    best_per_second: float
    median_per_second: float
    mean_ms: float
    best_mean_ms: float
    run_seconds: list[float]


def _evaluate_all(scenarios: Sequence[Scenario]) -> list[Evaluation]:
    return [evaluate(scenario) for scenario in scenarios]


def measure(name: str, scenarios: Sequence[Scenario], repeat: int) -> tuple[Measure, list[Evaluation]]:
    _evaluate_all(scenarios[:5])  # warm-up: the pack is loaded (and cached) outside the clock
    seconds: list[float] = []
    results: list[Evaluation] = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        results = _evaluate_all(scenarios)
        seconds.append(time.perf_counter() - start)
    n = len(scenarios)
    median = statistics.median(seconds)
    best = min(seconds)
    return (
        Measure(
            name=name,
            evaluations=n,
            repeats=repeat,
            best_per_second=n / best,
            median_per_second=n / median,
            mean_ms=median / n * 1000,
            best_mean_ms=best / n * 1000,
            run_seconds=[round(s, 4) for s in seconds],
        ),
        results,
    )


def pin_to_one_core() -> int | None:
    """Pin this process to the first CPU it may run on; None where the platform cannot."""
    getter: Callable[[int], set[int]] | None = getattr(os, "sched_getaffinity", None)
    setter: Callable[[int, set[int]], None] | None = getattr(os, "sched_setaffinity", None)
    if getter is None or setter is None:
        return None
    core = min(getter(0))
    setter(0, {core})
    return core


def profile_top(scenarios: Sequence[Scenario], limit: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    _evaluate_all(scenarios)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


# --- report ----------------------------------------------------------------------------------------


def _outcome(evaluations: Sequence[Evaluation]) -> dict[str, Any]:
    """What the synthetic data made the engine do, so the workload is seen to exercise the rules."""
    segments = Counter(e.proposed_segment for e in evaluations)
    codes = Counter(t.code for e in evaluations for t in e.triggers)
    return {
        "segments": {str(s): segments[s] for s in sorted(segments)},
        "mean_triggers": round(sum(len(e.triggers) for e in evaluations) / max(len(evaluations), 1), 2),
        "trigger_codes": dict(codes.most_common()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trusts", type=int, default=230)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--framework", default="nof-2019", choices=available_packs())
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of one pass of each measure"
    )
    args = parser.parse_args(argv)
    if args.trusts < 1 or args.months < 1 or args.repeat < 1:
        parser.error("--trusts, --months and --repeat must be at least 1")

    core = pin_to_one_core()
    pack = load_pack(args.framework)
    build_start = time.perf_counter()
    workload = build_workload(pack, args.trusts, args.months, args.seed)
    build_seconds = time.perf_counter() - build_start

    year, year_results = measure("year", workload.year, args.repeat)
    monthly, monthly_results = measure("monthly", workload.monthly, args.repeat)

    report: dict[str, Any] = {
        "framework": pack.id,
        "trusts": args.trusts,
        "months": args.months,
        "metrics": len(pack.metrics),
        "observations": workload.observations,
        "seed": args.seed,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pinned_core": core,
        "build_seconds": round(build_seconds, 3),
        "measures": {m.name: asdict(m) for m in (year, monthly)},
        "outcome": {"year": _outcome(year_results), "monthly": _outcome(monthly_results)},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report, (year, monthly))
    if args.profile:
        out = sys.stderr if args.json else sys.stdout
        for name, scenarios in (("year", workload.year), ("monthly", workload.monthly)):
            print(f"\n=== cProfile: one {name} pass ({len(scenarios)} evaluations) ===", file=out)
            print(profile_top(scenarios), file=out)


def _print_report(report: dict[str, Any], measures: Sequence[Measure]) -> None:
    core = report["pinned_core"]
    print(f"Python {report['python']} ({report['implementation']}) on {report['platform']}")
    print(f"CPUs: {report['cpus']}; " + (f"pinned to core {core}" if core is not None else "not pinned"))
    print(
        f"Framework {report['framework']}: {report['trusts']} trusts x {report['months']} months x "
        f"{report['metrics']} metrics = {report['observations']} observations "
        f"(seed {report['seed']}; scenarios built in {report['build_seconds']:.2f} s, not timed)"
    )
    print()
    header = (
        f"{'measure':<9} {'evaluations':>11} {'best eval/s':>12} {'median eval/s':>14} {'mean ms/eval':>13}"
    )
    print(header)
    print("-" * len(header))
    for m in measures:
        print(
            f"{m.name:<9} {m.evaluations:>11} {m.best_per_second:>12.1f} "
            f"{m.median_per_second:>14.1f} {m.mean_ms:>13.3f}"
        )
    print()
    print(f"({report['repeat']} runs each; mean ms/eval is from the median run)")
    for name, outcome in report["outcome"].items():
        print(f"{name}: segments {outcome['segments']}, {outcome['mean_triggers']} triggers per evaluation")


if __name__ == "__main__":
    main()
