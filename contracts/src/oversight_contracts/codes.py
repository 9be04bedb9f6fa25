"""Shared value types and code lists used across event payloads."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

#: An ODS organisation code: trusts like ``RJ1``, ICBs like ``QMF``, regions like ``Y56``.
OdsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,5}$")]

#: A reporting period, a calendar month ``YYYY-MM``.
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]

#: A metric id from the active framework pack, e.g. ``op_ae_4hr_pct``.
MetricId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


#: What no name or piece of prose may hold: control characters (prose keeps tab and newline) and
#: the bidirectional embeddings, overrides and isolates that make text display differently from
#: what it says ("Trojan Source", CVE-2021-42574). As a JSON Schema pattern, for clients.
_PROSE_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$"
_NAME_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$"
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _plain(value: str, *, multiline: bool) -> str:
    if _BIDI.search(value):
        raise ValueError("must not contain bidirectional embedding, override or isolate characters")
    control = _CONTROL.findall(value)
    if [c for c in control if not (multiline and c in "\t\n\r")]:
        raise ValueError(
            "must not contain control characters" + (" other than tab and newline" if multiline else "")
        )
    return value


#: Free text a person writes: a summary, a view, a reason. Tab and newline allowed.
Prose = Annotated[
    str,
    AfterValidator(lambda v: _plain(v, multiline=True)),
    Field(json_schema_extra={"pattern": _PROSE_PATTERN}),
]
#: A short single-line name, such as where intelligence came from.
Name = Annotated[
    str,
    AfterValidator(lambda v: _plain(v, multiline=False)),
    Field(json_schema_extra={"pattern": _NAME_PATTERN}),
]


class Theme(StrEnum):
    """The five oversight themes (NHS Oversight Framework 2019/20 annex 1, para 8)."""

    QUALITY_OF_CARE = "quality_of_care"
    FINANCE_AND_USE_OF_RESOURCES = "finance_and_use_of_resources"
    OPERATIONAL_PERFORMANCE = "operational_performance"
    STRATEGIC_CHANGE = "strategic_change"
    LEADERSHIP_AND_IMPROVEMENT_CAPABILITY = "leadership_and_improvement_capability"


class ExceptionReportCategory(StrEnum):
    """What a trust must report by exception (para 21 and Figure 2)."""

    UNPLANNED_INCOME_REDUCTION_OR_COST_INCREASE = "unplanned_income_reduction_or_cost_increase"
    REPORTING_NON_COMPLIANCE = "reporting_non_compliance"
    QUALIFIED_AUDIT_RISK = "qualified_audit_risk"
    ENFORCEMENT_NOTICE_OTHER_BODY = "enforcement_notice_other_body"
    MATERIAL_REPUTATIONAL_ISSUE = "material_reputational_issue"
    ADVERSE_SCRUTINY_REPORT = "adverse_scrutiny_report"
    TRANSACTION_OR_SUBSIDIARY_CHANGE = "transaction_or_subsidiary_change"
    NOVEL_OR_CONTENTIOUS_CONTRACT = "novel_or_contentious_contract"
    CQC_INSPECTION_RESULT = "cqc_inspection_result"
    CQC_WARNING_NOTICE = "cqc_warning_notice"
    FINE_OR_LEGAL_ACTION = "fine_or_legal_action"
    OPERATIONAL_DELIVERY_FAILURE = "operational_delivery_failure"
    STRATEGIC_DELIVERY_FAILURE = "strategic_delivery_failure"
    WELL_LED_REVIEW_FINDINGS = "well_led_review_findings"
    THIRD_PARTY_GOVERNANCE_CONCERN = "third_party_governance_concern"
