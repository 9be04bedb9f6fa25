"""docker-compose.yml and the k8s kustomize base parse and agree with the platform's service list."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from oversight_contracts import ALL_EVENTS
from oversight_runtime.access import load_policy
from oversight_runtime.platform import SERVICES
from oversight_runtime.settings import AuthSettings

REPO = Path(__file__).resolve().parents[2]


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return document


def test_compose_runs_kafka_postgres_and_every_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["oidc"]["image"].startswith("ghcr.io/navikt/mock-oauth2-server:")
    assert set(services) == {"kafka", "postgres", "oidc"} | {s.name for s in SERVICES}
    for spec in SERVICES:
        service = services[spec.name]
        assert service["command"] == ["python", "-m", spec.package]
        assert f"{spec.port}:{spec.port}" in service["ports"]
        assert service["environment"]["OVERSIGHT_HTTP_PORT"] == str(spec.port)
        assert service["environment"]["OVERSIGHT_DATABASE_URL"].endswith("/" + spec.name.replace("-", "_"))
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["OVERSIGHT_AUTH_ISSUER"] == "http://oidc:8080/oversight"


def test_settings_read_the_auth_configuration_of_compose_and_k8s(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variables the manifests set are the ones the services read, and they parse."""
    configmap = yaml.safe_load((REPO / "k8s" / "base" / "configmap.yaml").read_text())["data"]
    for environment in (compose["services"]["ingest"]["environment"], configmap):
        for name, value in environment.items():
            if name.startswith("OVERSIGHT_AUTH_"):
                monkeypatch.setenv(name, str(value))
        settings = AuthSettings()
        assert settings.issuer == environment["OVERSIGHT_AUTH_ISSUER"]
        assert set(settings.role_map.values()) <= set(load_policy().roles)
    assert set(json.loads(configmap["OVERSIGHT_AUTH_ROLE_MAP"]).values()) == set(load_policy().roles)


def test_compose_creates_each_services_database(compose: dict[str, Any]) -> None:
    sql = (REPO / "deploy" / "postgres" / "init-databases.sql").read_text()
    for spec in SERVICES:
        assert f"CREATE DATABASE {spec.name.replace('-', '_')};" in sql


def test_kustomization_lists_files_that_exist() -> None:
    base = REPO / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (base / resource).is_file(), resource
    assert {f"{s.name}.yaml" for s in SERVICES} <= set(kustomization["resources"])


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_has_a_safe_deployment_and_a_matching_service(spec: Any) -> None:
    docs = {d["kind"]: d for d in _load_all(REPO / "k8s" / "base" / f"{spec.name}.yaml")}
    deployment, service = docs["Deployment"], docs["Service"]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    [container] = pod["spec"]["containers"]
    assert container["command"] == ["python", "-m", spec.package]
    port_names = {p["name"] for p in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["limits"]["memory"]
    secret = container["env"][0]["valueFrom"]["secretKeyRef"]
    assert secret["name"] == f"{spec.name}-database"


def test_strimzi_component_declares_every_topic_and_its_dead_letter_topic() -> None:
    docs = _load_all(REPO / "k8s" / "components" / "kafka-strimzi" / "kafka.yaml")
    topics = {d["spec"]["topicName"] for d in docs if d["kind"] == "KafkaTopic"}
    expected = {e.topic() for e in ALL_EVENTS} | {e.dead_letter_topic() for e in ALL_EVENTS}
    assert topics == expected


def test_alert_rules_parse_and_name_metrics_the_services_export() -> None:
    """Every rule of deploy/prometheus/oversight-alerts.yaml reads a metric a service exports."""
    from prometheus_client import CollectorRegistry

    from oversight_runtime.telemetry import ServiceMetrics

    registry = CollectorRegistry()
    ServiceMetrics(registry)
    exported = set()
    for family in registry.collect():  # a counter's samples are named <family>_total
        exported |= {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "oversight-alerts.yaml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in alerts} >= {"OversightOutboxRowParked", "OversightConsumerStalled"}
    for rule in alerts:
        names = set(re.findall(r"\b(oversight_[a-z_]+)", rule["expr"]))
        assert names and names <= exported, (rule["alert"], names - exported)
        assert rule["annotations"]["summary"] and rule["labels"]["severity"] in {"page", "ticket"}
