"""Ingest's rules, free of I/O: what makes a trust's report or return acceptable.

Schema checks (types, codes, lengths) are in the request models; here are the rules that need
the registry or the clock, each failing with the field it is about.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from oversight_contracts import (
    ExceptionReportReceived,
    ExceptionReportReceivedData,
    SubmissionReceived,
    SubmissionReceivedData,
)
from oversight_ingest.models import ExceptionReportCreate, SubmissionCreate
from oversight_runtime.errors import Problem, Rejected
from oversight_runtime.reference import OrganisationRegistry, UnknownOrganisation

SOURCE = "ingest"


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
) -> ExceptionReportReceived:
    require_known_provider(registry, report.provider)
    if report.occurred_on > today:
        raise Rejected.field(
            ("body", "occurred_on"), f"is in the future (today is {today})", "date_in_future"
        )
    return ExceptionReportReceived.new(
        source=SOURCE,
        subject=report.provider,
        correlation_id=correlation_id,
        data=ExceptionReportReceivedData(report_id=report_id, **report.model_dump()),
    )


def accept_submission(
    submission: SubmissionCreate,
    *,
    registry: OrganisationRegistry,
    submission_id: UUID,
    today: date,
    correlation_id: UUID,
) -> SubmissionReceived:
    require_known_provider(registry, submission.provider)
    problems: list[Problem] = []
    if submission.period > f"{today.year:04d}-{today.month:02d}":
        problems.append(Problem(("body", "period"), "is a future month", "period_in_future"))
    seen: set[str] = set()
    for index, observation in enumerate(submission.observations):
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
    return SubmissionReceived.new(
        source=SOURCE,
        subject=submission.provider,
        correlation_id=correlation_id,
        data=SubmissionReceivedData(submission_id=submission_id, **submission.model_dump()),
    )
