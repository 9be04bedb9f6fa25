"""The platform's services in one list, shared by the runner, the tests and the artefact check."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oversight_runtime.settings import DEFAULT_PORTS, ServiceSettings

if TYPE_CHECKING:
    from oversight_runtime.service import OversightService

REPO_ROOT = Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str

    @property
    def port(self) -> int:
        return DEFAULT_PORTS[self.name]

    def create(self, settings: ServiceSettings | None = None) -> OversightService:
        module = importlib.import_module(f"{self.package}.main")
        service: OversightService = module.create_service(settings)
        return service


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ingest", "oversight_ingest"),
    ServiceSpec("metrics", "oversight_metrics"),
    ServiceSpec("segmentation", "oversight_segmentation"),
    ServiceSpec("support-coordination", "oversight_support_coordination"),
    ServiceSpec("notification", "oversight_notification"),
)
