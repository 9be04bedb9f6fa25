"""How one observation reads as an indicator: standard met or failed, SPC variation and assurance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from oversight_contracts.frameworks import FrameworkPack
from oversight_engine import spc


@dataclass(frozen=True)
class IndicatorReading:
    standard_met: bool | None
    variation: spc.Variation | None
    assurance: spc.Assurance | None


def read_indicator(
    pack: FrameworkPack, metric: str, points: Mapping[int, float], month: int
) -> IndicatorReading:
    """Read the point of ``month`` with limits from that month and every month before it."""
    rule = pack.metrics[metric]
    value = points[month]
    standard_met = rule.standard.met(value) if rule.standard else None
    if not rule.spc:
        return IndicatorReading(standard_met, None, None)
    history = [points[m] for m in sorted(points) if m <= month]
    reading = spc.read_point(history, pack.spc, rule.direction)
    if reading is None:
        return IndicatorReading(standard_met, None, None)
    assurance = spc.assurance(reading.limits, rule.standard) if rule.standard else None
    return IndicatorReading(standard_met, reading.variation, assurance)
