"""The Kubernetes manifests (deploy/k8s): both overlays rendered with kustomize, every object
validated offline (Kubernetes schemas in strict mode, KEDA's from deploy/k8s/schemas), then held
against the code: ports, probes, services, topics and partitions, secrets, network reach, settings."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic_settings import BaseSettings

from services.chassis import ports
from services.chassis.http import platform_router
from services.chassis.settings import SERVICES, Settings
from services.chassis.topics import load_catalog
from services.claims.settings import ClaimsSettings
from services.notifications.settings import NotificationSettings
from services.remits.settings import RemitsSettings
from tests.support.tools import tool

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
# The oldest Kubernetes the manifests promise (deploy/k8s/README.md); kubernetes-validate bundles it.
KUBERNETES_VERSION = "1.30.0"
IMAGE = "ghcr.io/revcycle/revcycle"
JOBS = {"revcycle-migrate": "migrate", "revcycle-topics": "topics"}
LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of")

# Every RCM_ setting a deployed pod does not get, and why. A new setting must be wired into
# deploy/k8s (ConfigMap revcycle-config or a Secret) or named here: the test below fails until then.
NOT_DEPLOYED = {
    "RCM_LOCAL_KAFKA_PORT": "ports of the local stack's own broker (`rcm up`); pods are given RCM_KAFKA_BOOTSTRAP",
    "RCM_LOCAL_KAFKA_CONTROLLER_PORT": "the local stack's KRaft controller; never a pod's concern",
    "RCM_LOCAL_POSTGRES_PORT": "the local stack's Postgres; pods are given full database URLs",
    "RCM_INSTANCES": "processes per service that `rcm up` starts; Kubernetes scales with replicas and KEDA",
    "RCM_FAULT": "crash-test failure points only: never set in a real run",
    "RCM_TRACES_DIR": "span files for tests and local debugging; pods export over OTLP (RCM_OTLP_ENDPOINT)",
    "RCM_CLEARINGHOUSE_ROOT": "the folder clearinghouse of the local stack; pods exchange over SFTP "
                              "(RCM_CLAIMS_SFTP_HOST, RCM_REMITS_SFTP_HOST)",
    "RCM_CODESETS_DIR": "defaults under RCM_STATE_DIR (the pod's emptyDir): the image's ICD-10-CM reference; "
                        "a newer edition needs a volume shared by charges and claims (README)",
    "RCM_CHARGES_MLLP_PORT": "the default 2575 is the containerPort, Service and NetworkPolicy port: changing "
                             "it alone would break them",
    "RCM_CHARGES_HL7_DEFAULTS": "the image's deploy/local/hl7.yaml; an organisation's own file is a ConfigMap "
                                "volume its overlay adds",
    "RCM_SERVICE_PROCESS": "set by `rcm serve` itself, not a setting",
}


@pytest.fixture(scope="module", autouse=True)
def _schemas_read_once() -> Iterator[None]:
    # kubernetes-validate reads and parses its 1.2 MB definitions file again for every object:
    # once per module keeps the validation of both overlays under a second or two.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents",
                      functools.cache(kubernetes_validate.utils.schema_contents))
        yield


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    kustomize = tool("kustomize")
    done = subprocess.run([str(kustomize), "build", str(K8S / "overlays" / overlay)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"kustomize build overlays/{overlay} failed:\n{done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(overlay) if o["kind"] == kind}


def config(overlay: str) -> dict[str, str]:
    (only,) = [o for n, o in objects(overlay, "ConfigMap").items() if n.startswith("revcycle-config")]
    data: dict[str, str] = only["data"]
    return data


def workloads(overlay: str) -> dict[str, dict[str, Any]]:
    """Each pod template by what runs in it: the four services and the two Jobs."""
    found = {name: d["spec"]["template"] for name, d in objects(overlay, "Deployment").items()}
    found |= {JOBS[name]: j["spec"]["template"] for name, j in objects(overlay, "Job").items()}
    return found


def container(template: dict[str, Any]) -> dict[str, Any]:
    (only,) = template["spec"]["containers"]
    return dict(only)


def keda_validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((K8S / "schemas" / f"keda-{kind.lower()}.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def problems(obj: dict[str, Any]) -> list[str]:
    where = f"{obj['kind']}/{obj['metadata']['name']}"
    if obj["apiVersion"].startswith("keda.sh/"):
        return [f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
                for e in keda_validator(obj["kind"]).iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}"]
    return []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid(overlay: str) -> None:
    rendered = render(overlay)
    kinds = {o["kind"] for o in rendered}
    assert {"Deployment", "Service", "PodDisruptionBudget", "ServiceAccount", "ConfigMap", "Job", "NetworkPolicy",
            "ScaledObject", "TriggerAuthentication", "Namespace"} <= kinds
    assert [p for o in rendered for p in problems(o)] == []
    unlabelled = [f"{o['kind']}/{o['metadata']['name']}" for o in rendered
                  if any(label not in o["metadata"].get("labels", {}) for label in LABELS)]
    unlabelled += [f"pod of {name}" for name, t in workloads(overlay).items()
                   if any(label not in t["metadata"]["labels"] for label in LABELS)]
    assert unlabelled == []


def test_the_validators_refuse_what_the_cluster_would_refuse_or_ignore() -> None:
    scaled = dict(objects("prod", "ScaledObject")["claims"])
    typo = {**scaled, "spec": {**scaled["spec"], "maxReplicas": 3}}
    assert any("maxReplicas" in p for p in problems(typo))
    trigger = {**scaled["spec"]["triggers"][0], "metadata": {**scaled["spec"]["triggers"][0]["metadata"],
                                                             "lagThreshold": 1000, "consumergroup": "x"}}
    unquoted = {**scaled, "spec": {**scaled["spec"], "triggers": [trigger]}}
    assert len(problems(unquoted)) >= 2
    deployment = objects("prod", "Deployment")["charges"]
    unknown = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert problems(unknown) != []


def test_the_probed_paths_are_served_by_every_service() -> None:
    # The router only reads its runtime when a request comes: listing its routes needs none.
    served = {getattr(route, "path", None) for route in platform_router(None).routes}  # type: ignore[arg-type]
    assert {"/healthz", "/readyz", "/metrics"} <= served


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_run_the_services_as_the_code_serves_them(overlay: str) -> None:
    deployments = objects(overlay, "Deployment")
    assert sorted(deployments) == sorted(SERVICES)
    services, budgets = objects(overlay, "Service"), objects(overlay, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        c = container(template)
        assert c["args"] == ["serve", name]
        named = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert named == ({"http": ports.HTTP[name], "mllp": ports.CHARGES_MLLP} if name == "charges"
                         else {"http": ports.HTTP[name]})
        assert (c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"], c["startupProbe"]["httpGet"]) == (
            {"path": "/readyz", "port": "http"}, {"path": "/healthz", "port": "http"},
            {"path": "/healthz", "port": "http"})
        assert template["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
        assert c["resources"]["requests"] and c["resources"]["limits"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        assert template["spec"]["terminationGracePeriodSeconds"] >= 30
        assert template["spec"]["serviceAccountName"] == f"revcycle-{name}"
        service = services[name]
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        assert {p["port"]: p["targetPort"] for p in service["spec"]["ports"]} == {
            v: k for k, v in named.items()}
        assert budgets[name]["spec"]["selector"] == deployment["spec"]["selector"]
    assert all(a.get("automountServiceAccountToken") is False for a in objects(overlay, "ServiceAccount").values())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_locked_down(overlay: str) -> None:
    settings = config(overlay)
    assert settings["RCM_HTTP_HOST"] == "0.0.0.0"  # the pod's own interface: the policies guard it
    assert settings["RCM_MIGRATE_ON_START"] == "false"
    assert settings["RCM_STATE_DIR"].startswith("/tmp/") and settings["RCM_CACHE_DIR"].startswith("/tmp/")
    for name, template in workloads(overlay).items():
        pod, c = template["spec"], container(template)
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert c["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "readOnlyRootFilesystem": True,
                                        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}, name
        tmp = {v["name"]: v for v in pod["volumes"]}[{m["mountPath"]: m for m in c["volumeMounts"]}["/tmp"]["name"]]
        assert "emptyDir" in tmp, name
        assert any(s["configMapRef"]["name"].startswith("revcycle-config") for s in c["envFrom"] if "configMapRef" in s)


def secret_refs(overlay: str, template: dict[str, Any]) -> set[str]:
    """`secret:key` of every secret a pod reads (env, envFrom, volumes), generated names unhashed."""
    generated = {n: re.sub(r"-[a-z0-9]{10}$", "", n) for n in objects(overlay, "Secret")}
    c, found = container(template), set()
    for env in c.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert env["name"] == ref["key"], "a secret's key is the variable it becomes"
            found.add(f"{generated.get(ref['name'], ref['name'])}:{ref['key']}")
    for source in c.get("envFrom", []):
        if "secretRef" in source:
            found.add(f"{generated.get(source['secretRef']['name'], source['secretRef']['name'])}:*")
    for volume in template["spec"].get("volumes", []):
        if "secret" in volume:
            items = volume["secret"].get("items") or [{"key": "*"}]
            found |= {f"{volume['secret']['secretName']}:{i['key']}" for i in items}
    return found


OWN_SECRETS = {
    "charges": {"revcycle-secrets:RCM_CHARGES_DATABASE_URL", "revcycle-secrets:RCM_KAFKA_PASSWORD"},
    "claims": {"revcycle-secrets:RCM_CLAIMS_DATABASE_URL", "revcycle-secrets:RCM_KAFKA_PASSWORD",
               "revcycle-secrets:RCM_CLAIMS_SFTP_PASSWORD", "revcycle-sftp:claims-client-key",
               "revcycle-sftp:known_hosts"},
    "remits": {"revcycle-secrets:RCM_REMITS_DATABASE_URL", "revcycle-secrets:RCM_KAFKA_PASSWORD",
               "revcycle-secrets:RCM_REMITS_SFTP_PASSWORD", "revcycle-sftp:remits-client-key",
               "revcycle-sftp:known_hosts"},
    "notifications": {"revcycle-secrets:RCM_NOTIFICATIONS_DATABASE_URL", "revcycle-secrets:RCM_KAFKA_PASSWORD",
                      "revcycle-webhooks:*"},
    "migrate": {"revcycle-secrets:RCM_ADMIN_DATABASE_URL",
                *(f"revcycle-secrets:RCM_{s.upper()}_DATABASE_URL" for s in SERVICES)},
    "topics": {"revcycle-secrets:RCM_KAFKA_PASSWORD"},
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_pod_reads_only_its_own_secrets(overlay: str) -> None:
    assert {name: secret_refs(overlay, t) for name, t in workloads(overlay).items()} == OWN_SECRETS
    secrets = {re.sub(r"-[a-z0-9]{10}$", "", n): s.get("data", {}) for n, s in objects(overlay, "Secret").items()}
    if overlay == "prod":
        # Production references Secrets the SRE team made; nothing secret is rendered or written.
        assert secrets == {}
        kustomization = yaml.safe_load((K8S / "overlays" / "prod" / "kustomization.yaml").read_text())
        assert "secretGenerator" not in kustomization
        return
    # Dev generates placeholders: every key a pod needs (not optional) is there, so the pods start.
    for template in workloads(overlay).values():
        for env in container(template).get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                assert ref["key"] in secrets[re.sub(r"-[a-z0-9]{10}$", "", ref["name"])], ref


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaling_follows_the_topic_catalog(overlay: str) -> None:
    prefix, catalog = config(overlay)["RCM_TOPIC_PREFIX"], load_catalog()
    scaled, auths = objects(overlay, "ScaledObject"), objects(overlay, "TriggerAuthentication")
    assert sorted(scaled) == sorted(SERVICES)
    for service, so in scaled.items():
        spec = so["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
        consumed = {t.name: t.partitions for t in catalog if service in t.consumers}
        assert consumed, service
        assert {t["metadata"]["topic"] for t in spec["triggers"]} == {prefix + name for name in consumed}
        for trigger in spec["triggers"]:
            assert trigger["type"] == "kafka"
            assert trigger["metadata"]["consumerGroup"] == Settings(topic_prefix=prefix).group_id(service)
            assert trigger["metadata"]["bootstrapServersFromEnv"] == "RCM_KAFKA_BOOTSTRAP"
            assert trigger["authenticationRef"]["name"] in auths
        # More consumers than partitions would sit idle.
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= min(consumed.values()), service
    assert "RCM_KAFKA_BOOTSTRAP" in config(overlay)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "the test reads In expressions only"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def reach(overlay: str, labels: dict[str, str], direction: str) -> set[str]:
    """The ports a pod with these labels may use in one direction, by the policies that select it."""
    allowed: set[str] = set()
    for policy in objects(overlay, "NetworkPolicy").values():
        spec = policy["spec"]
        if direction in spec["policyTypes"] and selects(spec["podSelector"], labels):
            rules = spec.get(direction.lower(), [])
            allowed |= {str(p["port"]) for rule in rules for p in rule["ports"]}
    return allowed


SERVICE_EGRESS = {"53", "9092", "9093", "5432", "4318"}
REACH = {
    "charges": (SERVICE_EGRESS, {"http", "2575"}),
    "claims": (SERVICE_EGRESS | {"22"}, {"http"}),
    "remits": (SERVICE_EGRESS | {"22"}, {"http"}),
    "notifications": (SERVICE_EGRESS | {"587", "443"}, {"http"}),
    "migrate": ({"53", "5432"}, set()),
    "topics": ({"53", "9092", "9093"}, set()),
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_all_then_allow_each_pod_its_peers(overlay: str) -> None:
    policies = objects(overlay, "NetworkPolicy")
    deny = [p["spec"] for p in policies.values() if p["spec"]["podSelector"] == {}]
    assert deny == [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}]
    got = {name: (reach(overlay, t["metadata"]["labels"], "Egress"), reach(overlay, t["metadata"]["labels"], "Ingress"))
           for name, t in workloads(overlay).items()}
    assert got == REACH
    webhooks = [rule["to"][0]["ipBlock"] for rule in policies["revcycle-egress-notifications"]["spec"]["egress"]
                if rule["ports"] == [{"protocol": "TCP", "port": 443}]]
    assert webhooks and {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(webhooks[0]["except"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_tagged(overlay: str) -> None:
    images = {container(t)["image"] for t in workloads(overlay).values()}
    assert len(images) == 1
    repository, _, tag = images.pop().rpartition(":")
    assert repository == IMAGE
    if overlay == "prod":
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"prod runs a released version, not {tag!r}"
    else:
        assert tag == "dev"


def test_prod_is_highly_available_and_talks_sasl_ssl() -> None:
    settings = config("prod")
    assert settings["RCM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert settings["RCM_KAFKA_USERNAME"] and settings["RCM_KAFKA_CA_FILE"]
    for name, deployment in objects("prod", "Deployment").items():
        assert deployment["spec"]["replicas"] == 2, name
        assert deployment["spec"]["template"]["spec"]["topologySpreadConstraints"], name
        mounts = {m["mountPath"] for m in container(deployment["spec"]["template"])["volumeMounts"]}
        assert str(Path(settings["RCM_KAFKA_CA_FILE"]).parent) in mounts, name
    assert all(b["spec"] == {"minAvailable": 1, "selector": b["spec"]["selector"]}
               for b in objects("prod", "PodDisruptionBudget").values())
    assert all(s["spec"]["minReplicaCount"] == 2 for s in objects("prod", "ScaledObject").values())
    assert objects("prod", "TriggerAuthentication")["revcycle-kafka"]["spec"]["secretTargetRef"]
    assert {d["spec"]["replicas"] for d in objects("dev", "Deployment").values()} == {1}


def setting_names() -> set[str]:
    """Every RCM_ variable the code reads: the settings classes' fields and the names it reads directly."""
    classes: list[tuple[type[BaseSettings], str]] = [
        (Settings, "RCM_"), (ClaimsSettings, "RCM_CLAIMS_"), (RemitsSettings, "RCM_REMITS_"),
        (NotificationSettings, "RCM_NOTIFICATIONS_")]
    names = {f"{prefix}{field.upper()}" for cls, prefix in classes for field in cls.model_fields}
    for cls, prefix in classes:
        assert cls.model_config.get("env_prefix") == prefix, cls
    for source in (ROOT / "services").rglob("*.py"):
        names |= set(re.findall(r"[\"'](RCM_[A-Z0-9_]*[A-Z0-9])[\"']", source.read_text()))
    return names


def test_every_setting_is_deployed_or_deliberately_not() -> None:
    known = setting_names()
    assert "RCM_KAFKA_BOOTSTRAP" in known and "RCM_CHARGES_MLLP_PORT" in known  # the reading works
    # Deployed by either overlay: a setting may matter to one environment only (SASL_SSL, SFTP in prod).
    wired = {name for overlay in OVERLAYS for name in config(overlay)}
    wired |= {e["name"] for overlay in OVERLAYS for t in workloads(overlay).values()
              for e in container(t).get("env", [])}
    undecided = sorted(known - wired - set(NOT_DEPLOYED))
    assert undecided == [], (
        f"settings neither in deploy/k8s (ConfigMap revcycle-config or a Secret) nor in NOT_DEPLOYED: {undecided}")
    assert sorted(wired & set(NOT_DEPLOYED)) == []
    assert sorted(set(NOT_DEPLOYED) - known) == [], "NOT_DEPLOYED names settings the code no longer has"
    assert all(reason.strip() for reason in NOT_DEPLOYED.values())
    for overlay in OVERLAYS:
        stray = sorted(set(config(overlay)) - known)
        assert stray == [], f"overlays/{overlay} configures settings the code does not read: {stray}"
