"""Segmentation: turns triggers into support needs and segment proposals; records the region's decisions."""

from __future__ import annotations

from pathlib import Path

from oversight_contracts import (
    IcsViewRecorded,
    SegmentDecidedV2,
    SegmentProposedV2,
    SupportNeedIdentifiedV2,
    SupportNeedResolvedV2,
)
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings
from oversight_segmentation.api import router
from oversight_segmentation.handlers import handlers

NAME = "segmentation"


def create_service(settings: ServiceSettings | None = None) -> OversightService:
    return OversightService(
        NAME,
        description=__doc__ or "",
        api=router,
        handlers=handlers,
        publishes=[
            SupportNeedIdentifiedV2,
            SupportNeedResolvedV2,
            SegmentProposedV2,
            IcsViewRecorded,
            SegmentDecidedV2,
        ],
        migrations=Path(__file__).parent / "migrations",
        settings=settings,
    )


def run() -> None:
    create_service().serve()
