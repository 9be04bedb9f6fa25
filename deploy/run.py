"""Run the whole platform on this machine: broker, OpenID Connect provider, five services,
reference data and a demo.

Embedded defaults: a Kafka broker on 127.0.0.1:9092 (data under var/kafka), the local OpenID
Connect provider on 127.0.0.1:8090 with the demo users (a fresh signing key each start), each
service on its own port with a SQLite file under var/. Stop with Ctrl-C; everything started here
stops too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import date
from types import FrameType, ModuleType
from typing import Any

from oversight_engine.periods import month_of, period_of

from oversight_runtime.demo_identity import (
    DemoUsers,
    TokenUnavailable,
    fetch_token,
    issuer_config,
    load_demo_users,
    new_signing_key,
)
from oversight_runtime.launcher import ServiceProcess
from oversight_runtime.platform import REPO_ROOT, SERVICES
from oversight_runtime.reference import load_registry
from oversight_runtime.settings import AuthSettings

VAR = REPO_ROOT / "var"


def _load(relative: str) -> ModuleType:
    path = REPO_ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _post(
    url: str, body: Mapping[str, object], key: str, token: str, method: str = "POST"
) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            "Idempotency-Key": key,
            "Authorization": f"Bearer {token}",
        },
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, object] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as error:  # say what was refused, not only the status
        raise RuntimeError(f"{method} {url} answered {error.code}: {error.read().decode()[:500]}") from None


def _get(url: str, token: str) -> object:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


#: The demo's packages: (provider, theme, how far it goes, the ICS lead and the trust user). Each
#: step is taken only when the package's status still needs it, so a second `make run` on the
#: same data changes nothing.
DEMO_PACKAGES = (
    ("RAL", "quality_of_care", "agreed", "qmj.lead", "ral.submitter"),
    ("RJ1", "finance_and_use_of_resources", "in_delivery", "qkk.lead", "rj1.viewer"),
)
#: The acts that take a package from each status towards the demo's target, by whom.
DEMO_STEPS: dict[str, list[tuple[str, str]]] = {
    "draft": [("ics", "propose")],
    "proposed": [("ics", "sign_off"), ("region", "sign_off")],
    "agreed": [("trust", "acknowledge"), ("region", "start_delivery")],
}


def demo_packages(urls: Mapping[str, str], token: Callable[[str], str], timeout: float = 60) -> list[str]:
    """Take one drafted package to agreed and another into delivery, each act by its demo user
    (issue 11: the demo shows a package agreed and one in delivery)."""
    base = f"{urls['support-coordination']}/v1/support-packages"
    shown = []
    for provider, theme, target, ics, trust in DEMO_PACKAGES:
        users = {"ics": ics, "region": "y56.decider", "trust": trust}
        package = _wait_for_package(base, provider, theme, token("y56.decider"), timeout)
        if package["status"] == "draft" and (missing := _missing_parts(package)):
            key = f"demo-{package['id']}-shape"
            package = _post(f"{base}/{package['id']}", missing, key, token(ics), method="PATCH")
        while package["status"] != target:
            for side, action in DEMO_STEPS[str(package["status"])]:
                key = f"demo-{package['id']}-{side}-{action}"
                package = _post(
                    f"{base}/{package['id']}/actions", {"action": action}, key, token(users[side])
                )
        shown.append(f"{provider} {theme.replace('_', ' ')} package {target.replace('_', ' ')}")
    return shown


def _missing_parts(package: Mapping[str, Any]) -> dict[str, object]:
    """What the ICS lead adds to a draft that lacks part of the "new deal" (a draft opened before
    drafts came from the offers catalogue has none of it)."""
    plan, region = package["plan"], package["region"]
    today = date.today()
    parts: dict[str, object] = {
        "problem_statement": package["summary"],
        "plan_items": [
            {
                "action": "Diagnostic review with the regional team",
                "needs": [package["need_id"]],
                "owner": region,
            }
        ],
        "exit_criteria": [{"description": "The triggers behind the need have cleared", "clears": []}],
        "review_dates": [
            date(today.year + (today.month + 2) // 12, (today.month + 2) % 12 + 1, 1).isoformat()
        ],
    }
    return {name: value for name, value in parts.items() if not plan.get(name)}


def _wait_for_package(base: str, provider: str, theme: str, token: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    seen: dict[str, object] | None = None
    while time.monotonic() < deadline:
        packages = _get(f"{base}?provider={provider}&theme={theme}", token)
        assert isinstance(packages, list)
        if packages:
            seen = packages[0]
            if _settled(packages[0]):
                return seen
        time.sleep(0.5)
    if seen is not None:  # a draft from before drafts followed the pathway: shaped as it is
        return seen
    raise RuntimeError(f"no {theme} package for {provider} within {timeout:.0f}s")


def _settled(package: Mapping[str, Any]) -> bool:
    """A package past its draft, or a draft whose exit criteria come from the segment proposal's
    pathway, which reaches support coordination just after the need: agreed earlier, the package
    would rest on no proposal."""
    if package["status"] != "draft":
        return True
    criteria = package["plan"]["exit_criteria"]
    return any(c.get("source", "").startswith("pathway of segment proposal") for c in criteria)


def demo(urls: Mapping[str, str], issuer: str) -> None:
    """London trusts report by exception and send returns, the region records facts, an ICS lead
    gives a view, and two support packages are agreed (one of them in delivery), each act by its
    own demo user, so every service has something to show."""
    today = date.today().isoformat()
    tokens: dict[str, str] = {}

    def token(user: str) -> str:
        if user not in tokens:
            tokens[user] = fetch_token(issuer, user)
        return tokens[user]

    def post(user: str, service: str, path: str, body: Mapping[str, object], key: str) -> None:
        _post(f"{urls[service]}{path}", body, key, token(user))

    reports = [
        (
            "rj1.submitter",
            "RJ1",
            "qualified_audit_risk",
            "External auditors have raised going-concern questions.",
        ),
        (
            "rru.submitter",
            "RRU",
            "operational_delivery_failure",
            "Category 2 response times breached during a surge.",
        ),
        ("ral.submitter", "RAL", "cqc_warning_notice", "CQC warning notice issued on maternity staffing."),
    ]
    for user, provider, category, summary in reports:
        body = {"provider": provider, "category": category, "summary": summary, "occurred_on": today}
        post(user, "ingest", "/v1/exception-reports", body, f"demo-{provider}-{category}-{today}")
    for months_ago in range(14, 0, -1):
        period = _month(months_ago)
        submission = {"provider": "RJ1", "period": period, "observations": _rj1_return(months_ago)}
        post("rj1.submitter", "ingest", "/v1/submissions", submission, f"demo-submission-RJ1-{period}")
    facts = {
        "provider": "RAL",
        "cqc": {"overall": "requires_improvement", "safe": "inadequate", "well_led": "good"},
        "licence": "suspected_breach",
        "recorded_on": today,
    }
    post("y56.member", "ingest", "/v1/provider-facts", facts, f"demo-facts-RAL-{today}")
    view = {
        "recommended_segment": 2,
        "view": "The system supports targeted support for urgent care; the finance plan is agreed locally.",
    }
    post("qkk.lead", "segmentation", "/v1/providers/RJ1/ics-views", view, f"demo-ics-view-RJ1-{today}")

    for line in demo_packages(urls, token):
        print(f"demo: {line}")


def _month(months_ago: int) -> str:
    return period_of(month_of(date.today()) - months_ago)


def _rj1_return(months_ago: int) -> list[dict[str, float | str]]:
    """A year of steady A&E performance, then two months well below it; finances slipping."""
    ae = (96.0 + (0.4 if months_ago % 2 else -0.4)) if months_ago > 2 else 84.0 - months_ago
    return [
        {"metric": "op_ae_4hr_pct", "value": round(ae, 1)},
        {"metric": "op_rtt_18wk_pct", "value": 93.5},
        {"metric": "fin_capital_service_capacity", "value": 1.6},
        {"metric": "fin_liquidity_days", "value": -8.0},
        {"metric": "fin_ie_margin_pct", "value": -0.4},
        {"metric": "fin_distance_from_plan_pct", "value": -1.2},
        {"metric": "fin_agency_spend_vs_cap_pct", "value": 20.0},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kafka-port", type=int, default=9092)
    parser.add_argument("--oidc-port", type=int, default=8090)
    parser.add_argument("--no-demo", action="store_true", help="start empty")
    args = parser.parse_args()

    registry = load_registry()
    print(
        f"reference data: {len(registry.providers)} providers, {len(registry.icbs)} ICBs, {len(registry.regions)} regions"
    )
    started = time.monotonic()
    broker = _load("deploy/kafka/broker.py").KafkaBroker()
    issuer = _load("deploy/oidc/issuer.py").OidcIssuer()
    processes: dict[str, ServiceProcess] = {}

    def shutdown(*_: object) -> None:
        for process in processes.values():
            process.stop()
        issuer.stop()
        broker.stop()
        print("stopped")
        sys.exit(0)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        shutdown()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    auth = AuthSettings()
    try:
        broker.start(
            port=args.kafka_port, controller_port=args.kafka_port + 1, data_dir=VAR / "kafka" / "data"
        )
        print(f"kafka ready on {broker.bootstrap_servers}")
        users = load_demo_users()
        config = issuer_config(
            users, audience=auth.audience, signing_key=new_signing_key(), mapping=auth.claim_mapping()
        )
        issuer.start(config, port=args.oidc_port, log_path=VAR / "logs" / "oidc.log")
        print(f"OpenID Connect provider ready: {issuer.issuer()} ({len(users.users)} demo users)")
        for spec in SERVICES:
            processes[spec.name] = ServiceProcess(
                spec=spec,
                port=spec.port,
                env={
                    "OVERSIGHT_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                    "OVERSIGHT_DATA_DIR": str(VAR),
                    "OVERSIGHT_AUTH_ISSUER": issuer.issuer(),
                },
                log_path=VAR / "logs" / f"{spec.name}.log",
            )
        for process in processes.values():
            process.start()
        for process in processes.values():
            process.wait_ready()
        print(f"platform ready in {time.monotonic() - started:.1f}s")
        if not args.no_demo:
            demo({name: p.url for name, p in processes.items()}, issuer.issuer())
            print(
                "demo: 3 exception reports, 14 monthly returns for RJ1, CQC facts for RAL "
                "and South East London's view on RJ1 posted, each by its demo user"
            )
    except (RuntimeError, urllib.error.URLError, TokenUnavailable) as error:
        print(f"could not start the platform: {error}", file=sys.stderr)
        shutdown()

    _print_guide(processes, users)
    while True:
        for process in processes.values():
            if process.process is not None and process.process.poll() is not None:
                print(f"{process.spec.name} exited; see {process.log_path}", file=sys.stderr)
                shutdown()
        time.sleep(1)


def _print_guide(processes: Mapping[str, ServiceProcess], users: DemoUsers) -> None:
    print("\nservices (OpenAPI docs at /docs, health at /healthz and /readyz, metrics at /metrics):")
    for process in processes.values():
        print(f"  {process.spec.name:<22} {process.url}/docs")
    print("\nevery API call needs an access token; get one for a demo user and send it as a bearer token:")
    for user in users.users:
        print(f"  {user.username:<16} {', '.join(user.roles)} at {user.organisation}: {user.about}")
    segmentation, notification = processes["segmentation"].url, processes["notification"].url
    print(
        "\n  TOKEN=$(uv run oversight token qkk.member)\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {segmentation}/v1/providers/RJ1/pathway\n'
        f'  curl -N -H "Authorization: Bearer $TOKEN" {notification}/v1/alerts/stream'
    )
    print(f"\nlogs: {VAR / 'logs'}\nCtrl-C stops everything.")


if __name__ == "__main__":
    main()
