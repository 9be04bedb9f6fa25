"""The five services as real processes on the real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from oversight_runtime.launcher import ServiceProcess, free_port
from oversight_runtime.platform import SERVICES


@dataclass
class RunningPlatform:
    services: dict[str, ServiceProcess]
    trace_file: Path
    database_urls: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.services[service].url

    def stop(self) -> None:
        for process in self.services.values():
            process.stop()


def start_platform(
    bootstrap: str,
    database_url: Callable[[str], str],
    workdir: Path,
    *,
    only: tuple[str, ...] | None = None,
    settings: Mapping[str, str] | None = None,
    per_service: Mapping[str, Mapping[str, str]] | None = None,
) -> RunningPlatform:
    """Start the services (``only`` some of them) with extra ``OVERSIGHT_*`` settings, for all of
    them and (``per_service``) for some."""
    trace_file = workdir / "spans.jsonl"
    processes: dict[str, ServiceProcess] = {}
    urls: dict[str, str] = {}
    for spec in SERVICES:
        if only is not None and spec.name not in only:
            continue
        urls[spec.name] = database_url(spec.name.replace("-", "_"))
        processes[spec.name] = ServiceProcess(
            spec=spec,
            port=free_port(),
            env={
                "OVERSIGHT_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "OVERSIGHT_DATABASE_URL": urls[spec.name],
                "OVERSIGHT_TRACE_FILE": str(trace_file),
                "OVERSIGHT_RELAY_POLL_SECONDS": "0.5",
                "OVERSIGHT_LAG_POLL_SECONDS": "1",
                "OVERSIGHT_RETRY_BACKOFF_SECONDS": "0.05",
                "OVERSIGHT_PERIODIC_JOB_SECONDS": "2",
                "OVERSIGHT_CLIENT_TIMEOUT_SECONDS": "2",
                **(settings or {}),
                **(per_service or {}).get(spec.name, {}),
            },
            log_path=workdir / f"{spec.name}.log",
        )
    platform = RunningPlatform(processes, trace_file, urls)
    try:
        for process in processes.values():
            process.start()
        for process in processes.values():
            process.wait_ready()
    except BaseException:
        platform.stop()
        raise
    return platform
