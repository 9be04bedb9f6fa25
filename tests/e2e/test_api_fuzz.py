"""Property-based fuzz of every service's OpenAPI document with schemathesis, signed in.

Each service is fuzzed as the users whose roles reach its routes, bounded in examples: no 5xx,
every status code and response body as documented, schema-violating input refused, and calls
without the token refused (``ignored_auth``). One check is left out on purpose:
``positive_data_acceptance`` expects every schema-valid body to be accepted, but a well-formed
ODS code or metric id may still be unknown to the registry or the framework pack, and that is a
documented 422. The live alert stream never ends, so it is left to the tests that read it.
The services under fuzz run on a broker and databases of their own (``fuzz_platform``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_contracts.frameworks import load_pack
from oversight_runtime.reference import load_registry
from tests.support.identity import RunningIssuer
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

#: (service, user): each route is reached by a user allowed to take its action.
RUNS = [
    ("ingest", "rj1.submitter"),
    ("ingest", "y56.member"),
    ("metrics", "qkk.member"),
    ("segmentation", "qkk.lead"),
    ("segmentation", "y56.decider"),
    ("support-coordination", "qkk.member"),
    ("notification", "qkk.member"),
]
EXAMPLES_PER_OPERATION = 25


def _config(directory: Path) -> Path:
    """A schemathesis.toml that, most of the time, fills provider codes and metric ids with real
    ones, so the fuzz reaches past "unknown provider" into the rules (and still tries others)."""
    providers = json.dumps([p.ods_code for p in load_registry().providers])
    metrics = json.dumps(sorted(load_pack("nof-2019").metrics))
    path = directory / "schemathesis.toml"
    path.write_text(
        f"""
[dictionaries.providers]
values = {providers}

[dictionaries.metrics]
values = {metrics}

[parameters]
"path.ods_code" = {{ dictionary = "providers", probability = 0.8 }}
"query.provider" = {{ dictionary = "providers", probability = 0.8 }}
"body.provider" = {{ dictionary = "providers", probability = 0.8 }}
"body.observations[*].metric" = {{ dictionary = "metrics", probability = 0.8 }}
"""
    )
    return path


@pytest.mark.parametrize(("service", "user"), RUNS, ids=[f"{s}-as-{u}" for s, u in RUNS])
def test_service_holds_to_its_openapi_document(
    fuzz_platform: RunningPlatform, oidc: RunningIssuer, tmp_path: Path, service: str, user: str
) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(_config(tmp_path)),
        "run",
        f"{fuzz_platform.url(service)}/openapi.json",
        "--header",
        f"Authorization: Bearer {oidc.token(user)}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        *(["--exclude-path", "/v1/alerts/stream"] if service == "notification" else []),
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "2019",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "passed" in run.stdout
