"""Ingest's rules, free of I/O: what makes a trust's report or return acceptable.

Schema checks (types, codes, lengths) are in the request models; here are the rules that need
the registry or the clock, each failing with the field it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar
from uuid import UUID

from oversight_contracts import (
    Actor,
    ExceptionReportReceivedV2,
    ExceptionReportReceivedV2Data,
    MaterialConcernRaisedV2,
    MaterialConcernRaisedV2Data,
    ProviderFactsRecordedV2,
    ProviderFactsRecordedV2Data,
    SubmissionReceivedV2,
    SubmissionReceivedV2Data,
)
from oversight_contracts.frameworks import FrameworkPack
from oversight_ingest.models import (
    ExceptionReportCreate,
    MaterialConcernCreate,
    ProviderFactsCreate,
    SubmissionCreate,
)
from oversight_runtime.errors import Problem, Rejected
from oversight_runtime.reference import OrganisationRegistry, UnknownOrganisation

SOURCE = "ingest"

T = TypeVar("T")
R = TypeVar("R")


def require_known_provider(registry: OrganisationRegistry, ods_code: str) -> None:
    try:
        registry.provider(ods_code)
    except UnknownOrganisation as error:
        raise Rejected.field(("body", "provider"), str(error), "unknown_provider") from error


def accept_exception_report(
    report: ExceptionReportCreate,
    *,
    registry: OrganisationRegistry,
    report_id: UUID,
    today: date,
    correlation_id: UUID,
    actor: Actor,
) -> ExceptionReportReceivedV2:
    require_known_provider(registry, report.provider)
    _not_in_future(("body", "occurred_on"), report.occurred_on, today)
    return ExceptionReportReceivedV2.new(
        source=SOURCE,
        subject=report.provider,
        correlation_id=correlation_id,
        data=ExceptionReportReceivedV2Data(report_id=report_id, **report.model_dump(), actor=actor),
    )


def accept_submission(
    submission: SubmissionCreate,
    *,
    registry: OrganisationRegistry,
    framework: FrameworkPack,
    submission_id: UUID,
    today: date,
    correlation_id: UUID,
    actor: Actor,
) -> SubmissionReceivedV2:
    require_known_provider(registry, submission.provider)
    problems: list[Problem] = []
    if submission.period > f"{today.year:04d}-{today.month:02d}":
        problems.append(Problem(("body", "period"), "is a future month", "period_in_future"))
    if submission.period < f"{EARLIEST.year:04d}-{EARLIEST.month:02d}":
        problems.append(
            Problem(
                ("body", "period"), f"is before {EARLIEST:%Y-%m}: not a plausible month", "period_implausible"
            )
        )
    seen: set[str] = set()
    for index, observation in enumerate(submission.observations):
        rule = framework.metrics.get(observation.metric)
        if rule is None:
            problems.append(
                Problem(
                    ("body", "observations", index, "metric"),
                    f"{observation.metric} is not a metric of framework {framework.id}",
                    "unknown_metric",
                )
            )
        elif (problem := rule.out_of_bounds(observation.value)) is not None:
            problems.append(Problem(("body", "observations", index, "value"), problem, "value_out_of_bounds"))
        if observation.metric in seen:
            problems.append(
                Problem(
                    ("body", "observations", index, "metric"),
                    f"{observation.metric} appears more than once in this submission",
                    "duplicate_metric",
                )
            )
        seen.add(observation.metric)
    if problems:
        raise Rejected(*problems)
    return SubmissionReceivedV2.new(
        source=SOURCE,
        subject=submission.provider,
        correlation_id=correlation_id,
        data=SubmissionReceivedV2Data(submission_id=submission_id, **submission.model_dump(), actor=actor),
    )


def for_each_item(items: Sequence[T], rule: Callable[[int, T], R]) -> list[R]:
    """Apply a rule written for one request body to every item of a bulk request.

    All or nothing: every item is checked, and every failing item is reported at once (a sender
    fixes a whole import in one go), each problem under its item's index: ``body.period`` of
    item 3 becomes ``body.3.period``. Results come back in the items' order.
    """
    results: list[R] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            results.append(rule(index, item))
        except Rejected as rejected:
            problems += [_of_item(index, problem) for problem in rejected.problems]
    if problems:
        raise Rejected(*problems)
    return results


def _of_item(index: int, problem: Problem) -> Problem:
    """A single body's problem (``body.period``) as the problem of bulk item ``index``."""
    within = problem.loc[1:] if problem.loc[:1] == ("body",) else problem.loc
    return Problem(("body", index, *within), problem.msg, problem.type)


#: Nothing the platform oversees happened before this: an earlier date or period is a typo.
EARLIEST = date(2000, 1, 1)


def _not_in_future(loc: tuple[str, ...], day: date, today: date) -> None:
    """A plausible date: not after today, not before 2000."""
    if day > today:
        raise Rejected.field(loc, f"is in the future (today is {today})", "date_in_future")
    if day < EARLIEST:
        raise Rejected.field(
            loc, f"is before {EARLIEST}: not a plausible date for a report", "date_implausible"
        )


def accept_provider_facts(
    facts: ProviderFactsCreate,
    *,
    registry: OrganisationRegistry,
    facts_id: UUID,
    today: date,
    correlation_id: UUID,
    actor: Actor,
) -> ProviderFactsRecordedV2:
    require_known_provider(registry, facts.provider)
    _not_in_future(("body", "recorded_on"), facts.recorded_on, today)
    return ProviderFactsRecordedV2.new(
        source=SOURCE,
        subject=facts.provider,
        correlation_id=correlation_id,
        data=ProviderFactsRecordedV2Data(facts_id=facts_id, **facts.model_dump(), actor=actor),
    )


def accept_material_concern(
    concern: MaterialConcernCreate,
    *,
    registry: OrganisationRegistry,
    concern_id: UUID,
    today: date,
    correlation_id: UUID,
    actor: Actor,
) -> MaterialConcernRaisedV2:
    require_known_provider(registry, concern.provider)
    _not_in_future(("body", "raised_on"), concern.raised_on, today)
    return MaterialConcernRaisedV2.new(
        source=SOURCE,
        subject=concern.provider,
        correlation_id=correlation_id,
        data=MaterialConcernRaisedV2Data(concern_id=concern_id, **concern.model_dump(), actor=actor),
    )
