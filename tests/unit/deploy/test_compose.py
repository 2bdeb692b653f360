"""deploy/compose.yaml without a Docker engine: the Compose specification's JSON schema (vendored
from compose-spec/compose-go v2.17.0, schema/compose-spec.json, Apache-2.0) and what the schema
cannot know: dependencies that exist, one image for our processes, real RCM_ settings, files that
exist, ports published on 127.0.0.1 only, pinned third-party images."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from pydantic_settings import BaseSettings

from services.chassis.ports import HTTP
from services.chassis.settings import SERVICES, Settings
from services.claims.settings import ClaimsSettings
from services.notifications.settings import NotificationSettings
from services.remits.settings import RemitsSettings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SCHEMA = Path(__file__).with_name("compose-spec.json")
IMAGE = "ghcr.io/revcycle/revcycle"
OURS = (*SERVICES, "sandbox", "mailcatcher")
"""What the image serves (`rcm serve NAME`)."""
ONE_SHOTS = ("topics", "migrate", "init-volumes")
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (Settings, ClaimsSettings, RemitsSettings, NotificationSettings)
CODE = ("services", "sandbox", "devstack", "cli")
_ENV_READ = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["'](RCM_[A-Z0-9_]+)["']""")


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so anchors merge"
    return {str(key): str(value) for key, value in env.items()}


def known_settings() -> set[str]:
    """Every RCM_ variable the code reads: the pydantic settings fields and the few knobs read
    straight from the environment (ports of an instance, the sandbox's timing, the mail catcher)."""
    names = {f"{cls.model_config.get('env_prefix', '')}{field}".upper()
             for cls in SETTINGS_CLASSES for field in cls.model_fields}
    names |= {f"RCM_{name.upper()}_HTTP_PORT" for name in HTTP}  # services/chassis/serve.py
    for folder in CODE:
        for path in (REPO / folder).rglob("*.py"):
            names |= set(_ENV_READ.findall(path.read_text()))
    return names


def test_compose_file_matches_the_compose_specification() -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, error.instance_path))}: {error.message}" for error in
              validator.iter_errors(compose())]
    assert errors == []


def test_the_schema_check_catches_a_misspelt_key() -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    broken = compose()
    broken["services"]["claims"]["helthcheck"] = broken["services"]["claims"].pop("healthcheck")
    assert not validator.is_valid(broken)


def test_every_dependency_exists_and_its_condition_can_be_met() -> None:
    found = services()
    for name, service in found.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in found, f"{name} depends on {target}, which is not a service"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in found[target], f"{name} waits for {target} to be healthy; it has no healthcheck"
            if condition == "service_completed_successfully":
                assert found[target].get("restart") == "no", f"{target} is a one-shot job: it must not restart"
            if target in ONE_SHOTS:
                assert condition == "service_completed_successfully", f"{name} must wait for {target} to finish"


def test_our_processes_run_from_the_one_image() -> None:
    found = services()
    ours = {name: service for name, service in found.items() if str(service.get("image", "")).startswith(IMAGE)}
    assert set(ours) == {*OURS, *ONE_SHOTS}
    assert len({service["image"] for service in ours.values()}) == 1
    for name, service in ours.items():
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}, name
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
    for name in OURS:
        assert found[name]["command"] == ["serve", name]
    assert found["topics"]["command"] == ["topics", "apply"]
    assert found["migrate"]["command"] == ["migrate", *SERVICES]


def test_the_image_is_built_from_the_deploy_dockerfile() -> None:
    assert (REPO / "deploy" / "Dockerfile").is_file()


def test_every_rcm_variable_is_a_real_setting() -> None:
    known = known_settings()
    for name, service in services().items():
        unknown = {key for key in environment(service) if key.startswith("RCM_")} - known
        assert unknown == set(), f"{name} sets variables no code reads: {sorted(unknown)}"


def test_a_misspelt_setting_would_be_caught() -> None:
    known = known_settings()
    assert {"RCM_KAFKA_BOOTSTRAP", "RCM_CLAIMS_SUBMIT_INTERVAL_S", "RCM_SANDBOX_SEED", "RCM_CLAIMS_HTTP_PORT"} <= known
    assert "RCM_KAFKA_BOOTSTRAPS" not in known


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_gets_only_its_own_database_and_waits_for_setup(name: str) -> None:
    service = services()[name]
    env = environment(service)
    urls = {key for key in env if key.endswith("_DATABASE_URL")}
    assert urls == {f"RCM_{name.upper()}_DATABASE_URL"}
    assert env["RCM_MIGRATE_ON_START"] == "false" and env["RCM_HTTP_HOST"] == "0.0.0.0"
    assert env["RCM_OTLP_ENDPOINT"].startswith("http://otel-collector:4318/")
    assert {"kafka", "postgres", "topics", "migrate"} <= set(service["depends_on"])
    probe = " ".join(service["healthcheck"]["test"])
    assert f"http://127.0.0.1:{HTTP[name]}/readyz" in probe


def test_only_the_migrate_job_holds_the_admin_connection() -> None:
    holders = {name for name, service in services().items() if "RCM_ADMIN_DATABASE_URL" in environment(service)}
    assert holders == {"migrate"}
    migrate = environment(services()["migrate"])
    assert {f"RCM_{name.upper()}_DATABASE_URL" for name in SERVICES} <= set(migrate)


def test_every_mounted_file_exists() -> None:
    mounted = 0
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).resolve().exists(), f"{name} mounts {source}, which is not in the repo"
                mounted += 1
    assert mounted >= 5


def test_published_ports_bind_localhost_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_third_party_images_are_pinned() -> None:
    for name, service in services().items():
        image = str(service.get("image", ""))
        if image.startswith(IMAGE):
            continue
        tag = image.rpartition(":")[2]
        assert re.fullmatch(r"v?\d+\.\d+(\.\d+)?([-.]\w+)*", tag), f"{name}: {image} is not pinned to a version"


def test_local_only_defaults_say_so() -> None:
    text = COMPOSE.read_text()
    defaults = re.findall(r"\$\{(\w*PASSWORD\w*):-([^}]*)\}", text)
    assert defaults, "passwords come from variables with local defaults"
    assert all("local-only" in value for _, value in defaults), defaults
