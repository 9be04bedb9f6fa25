"""Metrics' rules, free of I/O.

Exception reports become ``exception_report`` triggers under the theme the framework pack maps
their category to. The full indicator, finance-score and SPC rules arrive with the framework
engine; until then each stored observation is published as evaluated, unjudged.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from oversight_contracts import (
    ExceptionReportReceived,
    MetricEvaluated,
    MetricEvaluatedData,
    SubmissionReceived,
    TriggerRaised,
    TriggerRaisedData,
)
from oversight_contracts.frameworks import FrameworkPack

SOURCE = "metrics"
EXCEPTION_REPORT_TRIGGER = "exception_report"


def trigger_for_exception_report(
    report: ExceptionReportReceived, pack: FrameworkPack, *, trigger_id: UUID, now: datetime
) -> TriggerRaised:
    rule = pack.exception_reports[report.data.category]
    return TriggerRaised.new(
        source=SOURCE,
        subject=report.subject,
        cause=report,
        data=TriggerRaisedData(
            trigger_id=trigger_id,
            provider=report.data.provider,
            code=EXCEPTION_REPORT_TRIGGER,
            theme=rule.theme,
            evidence=(
                f"Exception report ({report.data.category.value.replace('_', ' ')}) on "
                f"{report.data.occurred_on}: {report.data.summary}"
            ),
            source=f"exception_report:{report.data.report_id}",
            framework_paragraph=rule.source,
            raised_at=now,
        ),
    )


def evaluations_for_submission(
    submission: SubmissionReceived, revised_metrics: set[str]
) -> list[MetricEvaluated]:
    return [
        MetricEvaluated.new(
            source=SOURCE,
            subject=submission.subject,
            cause=submission,
            data=MetricEvaluatedData(
                submission_id=submission.data.submission_id,
                provider=submission.data.provider,
                metric=observation.metric,
                period=submission.data.period,
                value=observation.value,
                revised=observation.metric in revised_metrics,
            ),
        )
        for observation in submission.data.observations
    ]
