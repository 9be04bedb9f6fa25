"""Segmentation's rules, free of I/O.

A trigger under a theme with no open support need identifies a potential need (para 24); a
trigger under a theme whose need is already open adds evidence to it without a new need. Teams
then apply judgement: a potential need is a prompt for a conversation, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from oversight_contracts import (
    SupportNeedIdentified,
    SupportNeedIdentifiedData,
    TriggerRaised,
)

SOURCE = "segmentation"


@dataclass(frozen=True)
class NeedDecision:
    """Either a new need (with its event) or the id of the open need the trigger joins."""

    need_id: UUID
    identified: SupportNeedIdentified | None


def assess_trigger(
    trigger: TriggerRaised, open_need_for_theme: UUID | None, *, new_need_id: UUID, now: datetime
) -> NeedDecision:
    if open_need_for_theme is not None:
        return NeedDecision(open_need_for_theme, None)
    data = trigger.data
    reason = (
        f"Trigger '{data.code}' under {data.theme.value.replace('_', ' ')} "
        f"({data.framework_paragraph}): {data.evidence}"
    )
    event = SupportNeedIdentified.new(
        source=SOURCE,
        subject=trigger.subject,
        cause=trigger,
        data=SupportNeedIdentifiedData(
            need_id=new_need_id,
            provider=data.provider,
            theme=data.theme,
            trigger_ids=[data.trigger_id],
            trigger_codes=[data.code],
            reason=reason,
            identified_at=now,
        ),
    )
    return NeedDecision(new_need_id, event)
