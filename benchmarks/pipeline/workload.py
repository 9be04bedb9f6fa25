"""The returns and events a run sends: valid for the services, made with the services' own code.

Returns come from the engine benchmark's generator (``engine_throughput.build_workload``: random
walks around plausible levels of every metric of the pack, with shocks, so triggers fire). Its
synthetic trusts are mapped onto the registry's providers, twelve months each and each further
back by a year, so that every (provider, period) is sent once: ingest keeps a resubmission, and
metrics treats it as a revision, which is other work than a new month.

Events are built by the functions the services publish them with: ingest's ``accept_submission``
and ``accept_exception_report``, metrics' ``trigger_changes`` (on triggers the real engine found)
and ``evaluations_for_submission``, segmentation's ``assess_trigger`` and ``propose_segment``,
support coordination's ``draft_plan`` and ``propose_package``. An event a service parks is then a finding about the
service, not about this script.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import engine_throughput
from oversight_engine import evaluate
from oversight_engine.periods import month_index, month_of, period_of

from oversight_contracts import (
    Actor,
    Envelope,
    ExceptionReportCategory,
    ExceptionReportReceivedV2,
    SubmissionReceivedV2,
    SupportNeedIdentifiedV2,
    SupportPackageProposedV2,
    Theme,
    TriggerRaisedV2,
)
from oversight_contracts.frameworks import FrameworkPack
from oversight_contracts.scenario import Scenario, Trigger
from oversight_ingest import domain as ingest_domain
from oversight_ingest.models import ExceptionReportCreate, SubmissionCreate
from oversight_metrics import domain as metrics_domain
from oversight_runtime.reference import OrganisationRegistry
from oversight_segmentation import domain as segmentation_domain
from oversight_support_coordination import domain as support_domain
from oversight_support_coordination.handlers import catalogue

#: Months in one synthetic trust's block of returns (the engine benchmark's year).
BLOCK_MONTHS = 12
#: Ingest refuses a period before this month (``oversight_ingest.domain.EARLIEST``).
EARLIEST_MONTH = month_of(ingest_domain.EARLIEST)


def submitter(provider: str) -> str:
    """The benchmark's own submitter of ``provider`` (configured on the OpenID Connect provider)."""
    return f"bench.{provider.lower()}"


def actor(provider: str) -> Actor:
    return Actor(
        user_id=submitter(provider),
        name=f"{provider} benchmark submitter",
        organisation=provider,
        role="trust_submitter",
    )


@dataclass(frozen=True)
class Return:
    """One trust's return for one month: the body of ``POST /v1/submissions``."""

    provider: str
    period: str
    observations: tuple[tuple[str, float], ...]

    def body(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "period": self.period,
            "observations": [{"metric": m, "value": v} for m, v in self.observations],
        }


@dataclass
class Workload:
    registry: OrganisationRegistry
    pack: FrameworkPack
    #: Per provider, oldest month first; no (provider, period) twice.
    returns: dict[str, list[Return]]
    #: The engine benchmark's year scenario behind each block, with the provider it stands for.
    scenarios: list[tuple[str, Scenario]]
    seed: int
    _triggers: dict[int, list[Trigger]] = field(default_factory=dict)

    @property
    def providers(self) -> list[str]:
        return list(self.returns)

    @property
    def observations_per_return(self) -> float:
        sizes = [len(r.observations) for rs in self.returns.values() for r in rs]
        return sum(sizes) / max(len(sizes), 1)

    def interleaved(self, providers: Sequence[str] | None = None) -> list[Return]:
        """Every return of ``providers`` (all by default), month by month across the trusts,
        oldest first, as a national return cycle would send them."""
        chosen = list(providers) if providers is not None else self.providers
        longest = max((len(self.returns[p]) for p in chosen), default=0)
        return [self.returns[p][i] for i in range(longest) for p in chosen if i < len(self.returns[p])]

    # --- events ----------------------------------------------------------------------------

    def submission(self, item: Return) -> SubmissionReceivedV2:
        """The event ingest publishes for ``item``, by ingest's own rule."""
        return ingest_domain.accept_submission(
            SubmissionCreate.model_validate(item.body()),
            registry=self.registry,
            framework=self.pack,
            submission_id=uuid4(),
            today=date.today(),
            correlation_id=uuid4(),
            actor=actor(item.provider),
        )

    def exception_report(self, provider: str, category: ExceptionReportCategory) -> ExceptionReportReceivedV2:
        report = ExceptionReportCreate(
            provider=provider,
            category=category,
            summary=f"Benchmark report: {category.value.replace('_', ' ')}",
            occurred_on=date.today(),
        )
        return ingest_domain.accept_exception_report(
            report,
            registry=self.registry,
            report_id=uuid4(),
            today=date.today(),
            correlation_id=uuid4(),
            actor=actor(provider),
        )

    def _engine_triggers(self, index: int) -> list[Trigger]:
        if index not in self._triggers:
            self._triggers[index] = list(evaluate(self.scenarios[index][1]).triggers)
        return self._triggers[index]

    def triggers(
        self, count: int, *, distinct: bool = False, open_per_theme: int | None = None
    ) -> list[TriggerRaisedV2]:
        """Up to ``count`` trigger events as metrics raises them: the engine's triggers for the
        synthetic years, each caused by its provider's latest return.

        ``distinct``: as segmentation would receive them from metrics, each key once per
        provider (metrics raises a key once until it clears), at most ``open_per_theme`` under
        one theme for one provider if given; there are then only so many (~1,000 for 33
        trusts). Otherwise as many as asked: a key the years repeat for a provider gets a
        suffix, so each event is still a new condition, never a no-op repeat (a provider then
        has more open at once than metrics would raise: ~60 for 2,000 events).
        """
        now = datetime.now(UTC)
        seen: dict[str, Counter[str]] = defaultdict(Counter)
        per_theme: Counter[tuple[str, Theme]] = Counter()
        events: list[TriggerRaisedV2] = []
        rounds = 1 if distinct else 1 + count // max(len(self.scenarios), 1)
        for index in range(len(self.scenarios) * rounds):
            if len(events) >= count:
                break
            provider = self.scenarios[index % len(self.scenarios)][0]
            cause = self.submission(self.returns[provider][-1])
            found = self._engine_triggers(index % len(self.scenarios))
            for event in metrics_domain.trigger_changes(found, [], causes=[cause], now=now).raised:
                key = event.data.key or event.data.code
                repeats = seen[provider][key]
                if distinct:
                    if repeats or per_theme[provider, event.data.theme] >= (open_per_theme or count):
                        continue
                    per_theme[provider, event.data.theme] += 1
                elif repeats:
                    data = event.data.model_copy(update={"key": f"{key}#{repeats}"})
                    event = event.model_copy(update={"data": data})
                seen[provider][key] += 1
                events.append(event)
        if not events:
            raise RuntimeError("the engine raised no trigger on the synthetic returns")
        return events[:count]

    def needs(self, count: int) -> list[SupportNeedIdentifiedV2]:
        """``count`` newly identified needs, as segmentation identifies them from triggers."""
        now = datetime.now(UTC)
        needs = []
        for trigger in self.triggers(count):
            decision = segmentation_domain.assess_trigger(trigger, None, new_need_id=uuid4(), now=now)
            assert decision.identified is not None  # no open need given: always a new one
            needs.append(decision.identified)
        return needs

    def packages(self, count: int) -> list[SupportPackageProposedV2]:
        """``count`` draft packages, as support coordination opens them for new needs."""
        return [self.package(need) for need in self.needs(count)]

    def package(self, need: SupportNeedIdentifiedV2) -> SupportPackageProposedV2:
        """The draft package support coordination opens for ``need``, from the offers catalogue."""
        now = datetime.now(UTC)
        provider = self.registry.provider(need.subject)
        plan = support_domain.draft_plan(need, provider, catalogue(), segment=None, today=now.date())
        return support_domain.propose_package(need, provider, plan, package_id=uuid4(), now=now)

    def variety(self, per_type: int) -> list[Envelope[Any]]:
        """Up to ``per_type`` events of each of several types (what a replay reads), made the
        way their services make them."""
        rng = random.Random(self.seed)
        now = datetime.now(UTC)
        events: list[Envelope[Any]] = []
        submissions = [self.submission(r) for r in self.interleaved()[:per_type]]
        events += submissions
        for submission in submissions[: per_type // len(self.pack.metrics) + 1]:
            series = {
                o.metric: {month_index(submission.data.period): o.value} for o in submission.data.observations
            }
            events += metrics_domain.evaluations_for_submission(submission, set(), series, self.pack)
        triggers = self.triggers(per_type)
        events += triggers
        needs = self.needs(per_type)
        events += needs
        events += [self.package(n) for n in needs]
        for trigger in triggers[:per_type]:
            opened = metrics_domain.OpenTrigger(
                trigger.data.trigger_id,
                trigger.data.key or trigger.data.code,
                trigger.data.code,
                trigger.data.theme.value,
                trigger.data.metric,
            )
            events += metrics_domain.trigger_changes([], [opened], causes=[trigger], now=now).cleared
        caused_by = {t.subject: t for t in triggers}
        for index in range(min(per_type, len(self.scenarios))):
            provider, scenario = self.scenarios[index]
            if (cause := caused_by.get(provider)) is None:
                continue
            proposal = segmentation_domain.propose_segment(
                self.pack,
                self._engine_triggers(index),
                scenario.facts,
                latest=None,
                proposal_id=uuid4(),
                cause=cause,
                now=now,
            )
            if proposal is not None:
                events.append(proposal)
        categories = list(ExceptionReportCategory)
        events += [
            self.exception_report(rng.choice(self.providers), rng.choice(categories)) for _ in range(per_type)
        ]
        return events


def build(registry: OrganisationRegistry, pack: FrameworkPack, *, returns: int, seed: int) -> Workload:
    """Enough distinct returns (at least ``returns``, as many as the calendar allows) for every
    provider of the registry, ending last month."""
    providers = [p.ods_code for p in registry.providers]
    last = month_of(date.today()) - 1
    most_blocks = (last - EARLIEST_MONTH + 1) // BLOCK_MONTHS
    blocks = max(1, min(most_blocks, -(-returns // (len(providers) * BLOCK_MONTHS))))
    synthetic = engine_throughput.build_workload(pack, len(providers) * blocks, BLOCK_MONTHS, seed)
    # The generator's last month is fixed; move it to last month, then each block a year back.
    shift = last - month_index(max(o.period for o in synthetic.year[0].observations))
    by_provider: dict[str, list[Return]] = {p: [] for p in providers}
    scenarios: list[tuple[str, Scenario]] = []
    for j, scenario in enumerate(synthetic.year):
        provider = providers[j % len(providers)]
        months_back = (j // len(providers)) * BLOCK_MONTHS
        scenarios.append((provider, scenario))
        by_period: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for observation in scenario.observations:
            period = period_of(month_index(observation.period) + shift - months_back)
            by_period[period].append((observation.metric, observation.value))
        by_provider[provider] += [Return(provider, p, tuple(obs)) for p, obs in by_period.items()]
    for items in by_provider.values():
        items.sort(key=lambda r: r.period)
    return Workload(registry, pack, by_provider, scenarios, seed)


def category_for_theme(pack: FrameworkPack) -> dict[Theme, ExceptionReportCategory]:
    """One exception-report category per theme that raises the plain ``exception_report``
    trigger under it (metrics maps categories to themes by the pack's ``exception_reports``)."""
    chosen: dict[Theme, ExceptionReportCategory] = {}
    for category, rule in pack.exception_reports.items():
        if rule.trigger == "exception_report":
            chosen.setdefault(rule.theme, category)
    return chosen


def cycle(items: Sequence[Any]) -> Iterator[Any]:
    """The items over and over (a measure that outruns the distinct returns repeats them)."""
    while True:
        yield from items
