"""The Prometheus rules, the scrape config and the Grafana dashboard: promtool loads and unit-tests
them, and every metric they read is one the services export (a renamed metric fails here)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.chassis.metrics import Metrics
from services.chassis.ports import HTTP
from services.chassis.settings import SERVICES
from tests.support.tools import tool
from tests.unit.deploy.promql import metric_names, with_grafana_variables

REPO = Path(__file__).resolve().parents[3]
OBSERVABILITY = REPO / "deploy" / "observability"
ALERTS = OBSERVABILITY / "alerts.yaml"
ALERT_TESTS = OBSERVABILITY / "alerts.test.yaml"
PROMETHEUS = OBSERVABILITY / "prometheus.yml"
GRAFANA = OBSERVABILITY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "revcycle.json"

# The metrics of issue 20 that the services sample (services/chassis/metrics.py and the services'
# own registries); the dashboard and the alerts were written against exactly these names.
SAMPLED = frozenset({
    "rcm_outbox_relay_last_success_timestamp_seconds",
    "rcm_outbox_oldest_pending_age_seconds",
    "rcm_consumer_lag",
    "rcm_claims_held",
    "rcm_claims_held_oldest_age_seconds",
    "rcm_remits_quarantined_835",
    "rcm_ar_outstanding_amount",
})
RUNBOOK_ANCHORS = frozenset({"stuck-consumer", "dlq-arrival", "outbox-backlog", "relay-stopped", "held-outbox-row",
                             "835-quarantine", "claims-held", "service-down"})
"""The sections of docs/operations.md the alerts link to."""


def exported_metrics() -> set[str]:
    """What the chassis registers (a counter's samples end in _total), the sampled gauges, and `up`,
    which Prometheus writes for every scrape."""
    names = {"up"} | SAMPLED
    for family in Metrics().registry.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def promtool(*args: str, cwd: Path = OBSERVABILITY) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tool("promtool")), *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False)


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard_targets() -> list[tuple[str, str]]:
    """(panel title, expression) of every query of every panel."""
    board = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel.get("targets", [])]


# --- the PromQL name extraction itself -----------------------------------------------------------


def test_metric_names_sees_through_functions_matchers_and_grouping() -> None:
    expr = ('sum by (service, outcome) (rate(rcm_a_total{service=~"$service", x="y{z}"}[$__rate_interval]))'
            " > 0 and on (service) max without (instance) (rcm_b) / ignoring (k) time() - up offset 5m")
    assert metric_names(expr) == {"rcm_a_total", "rcm_b", "up"}
    assert metric_names("deriv(rcm_c[10m:1m]) > 1e3 or vector(0)") == {"rcm_c"}


# --- alerts ----------------------------------------------------------------------------------------


def test_promtool_loads_the_rules() -> None:
    result = promtool("check", "rules", ALERTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout + result.stderr


def test_promtool_unit_tests_of_every_alert_pass() -> None:
    result = promtool("test", "rules", ALERT_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases = [case for test in yaml.safe_load(ALERT_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    for rule in alert_rules():
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{rule['alert']}: no test where it fires"
        assert any(not case["exp_alerts"] for case in mine), f"{rule['alert']}: no test where it stays quiet"


def test_every_alert_has_a_severity_a_summary_and_a_runbook() -> None:
    rules = alert_rules()
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md" and anchor in RUNBOOK_ANCHORS, rule["alert"]
    assert {rule["annotations"]["runbook_url"].partition("#")[2] for rule in rules} == RUNBOOK_ANCHORS


def test_alerts_read_only_exported_metrics() -> None:
    known = exported_metrics()
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']}: reads no metric"
        assert names <= known, f"{rule['alert']} reads metrics nobody exports: {sorted(names - known)}"


# --- scrape config ---------------------------------------------------------------------------------


def test_promtool_accepts_the_scrape_config() -> None:
    result = promtool("check", "config", PROMETHEUS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_job_scrapes_every_service_on_its_port_with_a_service_label() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert config["rule_files"] == [ALERTS.name]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "revcycle" and job.get("metrics_path", "/metrics") == "/metrics"
    targets = {entry["labels"]["service"]: entry["targets"] for entry in job["static_configs"]}
    assert targets == {service: [f"{service}:{HTTP[service]}"] for service in SERVICES}


# --- dashboard -------------------------------------------------------------------------------------


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    targets = dashboard_targets()
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{number}", "expr": with_grafana_variables(expr)}
        for number, (_, expr) in enumerate(targets)]}]}
    (tmp_path / "dashboard.rules.yaml").write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", "dashboard.rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(targets)} rules found" in result.stdout + result.stderr


def test_the_dashboard_reads_only_exported_metrics_and_shows_every_sampled_one() -> None:
    known = exported_metrics()
    seen: set[str] = set()
    for title, expr in dashboard_targets():
        names = metric_names(expr)
        assert names, f"{title}: {expr} reads no metric"
        assert names <= known, f"{title} reads metrics nobody exports: {sorted(names - known)}"
        seen |= names
    assert SAMPLED - seen == set(), "sampled but on no panel"


def test_the_claim_funnel_follows_every_stage() -> None:
    board = json.loads(DASHBOARD.read_text())
    [funnel] = [panel for panel in board["panels"] if panel["title"] == "Claim funnel in the time range"]
    stages = [target["legendFormat"] for target in funnel["targets"]]
    assert stages == ["created", "held", "submitted", "accepted", "rejected", "paid", "denied"]


def test_the_dashboard_uses_the_provisioned_datasource_and_variables() -> None:
    board = json.loads(DASHBOARD.read_text())
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "revcycle.yaml").read_text())
    [prometheus] = [source for source in provisioned["datasources"] if source["type"] == "prometheus"]
    uids = {panel["datasource"]["uid"] for panel in board["panels"] if "datasource" in panel}
    uids |= {target["datasource"]["uid"] for panel in board["panels"] for target in panel.get("targets", [])}
    assert uids == {prometheus["uid"]}
    assert [variable["name"] for variable in board["templating"]["list"]] == ["service", "instance"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", ["datasources/revcycle.yaml", "dashboards/revcycle.yaml"])
def test_grafana_provisioning_files_are_version_1(name: str) -> None:
    assert yaml.safe_load((GRAFANA / "provisioning" / name).read_text())["apiVersion"] == 1


def test_the_collector_pipeline_uses_only_declared_components_and_listens_where_services_send() -> None:
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    [(name, pipeline)] = config["service"]["pipelines"].items()
    assert name == "traces"
    for kind in ("receivers", "processors", "exporters"):
        assert pipeline[kind] and set(pipeline[kind]) <= set(config[kind]), kind
    assert set(config["service"].get("extensions", [])) <= set(config.get("extensions", {}))
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    endpoint = compose["services"]["claims"]["environment"]["RCM_OTLP_ENDPOINT"]
    port = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rpartition(":")[2]
    assert endpoint == f"http://otel-collector:{port}/v1/traces"
