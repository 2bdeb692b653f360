"""`rcm schemas`, `rcm publish` (validation paths, no broker) and `rcm docs`, via a test root app."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import cli.docs
import cli.publish
import cli.schemas
from schemas.generate import SCHEMAS_DIR
from schemas.registry import REGISTRY
from tests.support.serving import serving

runner = CliRunner()


def make_root() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(cli.schemas.app, name="schemas")
    root.command("docs")(cli.docs.docs)
    root.command("publish")(cli.publish.publish)
    return root


ROOT = make_root()


def example(event_type: str, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = REGISTRY[event_type].model.model_json_schema()["examples"][index]
    return json.loads(json.dumps(data))


def write(tmp_path: Path, content: Any, name: str = "event.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- schemas


def test_schemas_generate_check_and_check_on_the_repo() -> None:
    result = runner.invoke(ROOT, ["schemas", "generate", "--check"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(ROOT, ["schemas", "check"])
    assert result.exit_code == 0, result.output
    assert "backward compatible" in result.output
    assert "widening" not in result.output


def test_schemas_generate_into_a_fresh_root(tmp_path: Path) -> None:
    result = runner.invoke(ROOT, ["schemas", "generate", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "generated" / "asyncapi.yaml").is_file()
    assert len(list((tmp_path / "generated" / "jsonschema").glob("*.json"))) == len(REGISTRY)
    assert len(list((tmp_path / "baseline" / "v1").glob("*.json"))) == len(REGISTRY)
    again = runner.invoke(ROOT, ["schemas", "generate", "--root", str(tmp_path)])
    assert "0 file(s) changed" in again.output
    (tmp_path / "generated" / "jsonschema" / "rcm.old.Gone.v1.json").write_text("{}")
    stale = runner.invoke(ROOT, ["schemas", "generate", "--check", "--root", str(tmp_path)])
    assert stale.exit_code == 1
    assert "rcm.old.Gone.v1.json" in stale.output


def _broken_baseline_root(tmp_path: Path) -> Path:
    target = tmp_path / "baseline" / "v1"
    target.mkdir(parents=True)
    for path in (SCHEMAS_DIR / "baseline" / "v1").glob("*.json"):
        shutil.copy(path, target / path.name)
    path = target / "rcm.claims.ClaimSubmitted.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"]["legacy_field"] = {"type": "string"}  # the model "removed" it
    schema["$defs"]["PayerRef"]["properties"]["payer_name"]["maxLength"] = 200  # the model "narrowed" it
    path.write_text(json.dumps(schema))
    return tmp_path


def test_schemas_check_lists_each_incompatibility(tmp_path: Path) -> None:
    root = _broken_baseline_root(tmp_path)
    result = runner.invoke(ROOT, ["schemas", "check", "--root", str(root)])
    assert result.exit_code == 1
    assert "INCOMPATIBLE rcm.claims.ClaimSubmitted.v1 legacy_field: field_removed" in result.output
    assert "payer.payer_name: max_length_decreased" in result.output
    as_json = runner.invoke(ROOT, ["schemas", "check", "--root", str(root), "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["compatible"] is False
    assert {i["kind"] for i in report["incompatibilities"]} >= {"field_removed", "max_length_decreased"}


def test_schemas_check_notes_events_without_baseline(tmp_path: Path) -> None:
    (tmp_path / "baseline" / "v1").mkdir(parents=True)
    result = runner.invoke(ROOT, ["schemas", "check", "--root", str(tmp_path)])
    assert result.exit_code == 0
    assert "has no baseline yet" in result.output


# --------------------------------------------------------------------------- publish

CHARGE = "rcm.intake.ChargeSubmitted.v1"


def test_publish_dry_run_valid(tmp_path: Path) -> None:
    path = write(tmp_path, {"type": CHARGE, "data": example(CHARGE)})
    result = runner.invoke(ROOT, ["publish", "rcm.intake.charges.v1", str(path), "--dry-run", "--json"],
                           env={"RCM_TOPIC_PREFIX": "t42."})  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] is True and out["dry_run"] is True
    assert out["topic"] == "t42.rcm.intake.charges.v1"
    assert out["key"] == example(CHARGE)["source_encounter_id"]
    assert out["type"] == CHARGE and out["offset"] is None


def test_publish_payment_keyed_by_patient_account(tmp_path: Path) -> None:
    event_type = "rcm.intake.PatientPaymentReceived.v1"
    path = write(tmp_path, {"type": event_type, "data": example(event_type)})
    result = runner.invoke(ROOT, ["publish", "rcm.intake.payments.v1", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "key PA-4821907" in result.output


SECRET = "Hernandez-Maria-555-44-3333"


def test_publish_invalid_event_reports_fields_without_values(tmp_path: Path) -> None:
    data = example(CHARGE)
    data["units"] = 1.5
    data["unit_price"] = "150.005"
    data["rendering_provider_npi"] = "1234567890"
    data["description"] = SECRET * 5
    data["patient_name"] = SECRET
    path = write(tmp_path, {"type": CHARGE, "data": data})
    result = runner.invoke(ROOT, ["publish", "rcm.intake.charges.v1", str(path), "--dry-run"])
    assert result.exit_code == 1
    assert SECRET not in result.output and "1234567890" not in result.output and "150.005" not in result.output
    for expected in (
        "data.units: quantity must be a decimal string",
        "[money_format]",
        "data.rendering_provider_npi: NPI must be 10 digits",
        "data.description: must have at most 80 characters",
        "data.patient_name: unknown field",
        "nothing was published",
    ):
        assert expected in result.output
    as_json = runner.invoke(ROOT, ["publish", "rcm.intake.charges.v1", str(path), "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert {e["field"] for e in report["errors"]} == {
        "data.units", "data.unit_price", "data.rendering_provider_npi", "data.description", "data.patient_name",
    }  # fmt: skip
    assert SECRET not in as_json.stdout


@pytest.mark.parametrize(
    "topic", ["rcm.claims.v1", "rcm.charges.v1", "rcm.charges.dlq.v1", "t1.rcm.intake.charges.v1", "nope"]
)
def test_publish_refuses_non_intake_topics(tmp_path: Path, topic: str) -> None:
    path = write(tmp_path, {"type": CHARGE, "data": example(CHARGE)})
    result = runner.invoke(ROOT, ["publish", topic, str(path), "--dry-run"])
    assert result.exit_code == 2
    assert "intake topics only" in result.output


@pytest.mark.parametrize(
    ("content", "field", "etype"),
    [
        ({"type": CHARGE, "data": {}, "extra": 1}, "extra", "extra_forbidden"),
        ({"data": {}}, "type", "missing"),
        ({"type": "rcm.intake.Nope.v1", "data": {}}, "type", "unknown_event_type"),
        ({"type": "rcm.intake.EncounterClosed.v1", "data": {}}, "type", "wrong_topic"),
        ({"type": CHARGE, "data": [1]}, "data", "dict_type"),
        ({"type": CHARGE, "data": {}, "id": "not-a-uuid"}, "id", "uuid_parsing"),
        ({"type": CHARGE, "data": {}, "traceparent": 5}, "traceparent", "string_type"),
        ('{"type": "rcm.intake.ChargeSubmitted.v1", "data": {', "", "json_invalid"),
    ],
)
def test_publish_file_shape_errors(tmp_path: Path, content: Any, field: str, etype: str) -> None:
    path = write(tmp_path, content)
    result = runner.invoke(ROOT, ["publish", "rcm.intake.charges.v1", str(path), "--dry-run", "--json"])
    assert result.exit_code == 1, result.output
    errors = json.loads(result.stdout)["errors"]
    assert (field, etype) in {(e["field"], e["type"]) for e in errors}


def test_publish_bad_traceparent_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"type": CHARGE, "data": example(CHARGE), "traceparent": "01-xyz"})
    result = runner.invoke(ROOT, ["publish", "rcm.intake.charges.v1", str(path), "--dry-run", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["field"] == "traceparent"


def test_publish_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(ROOT, ["publish", "rcm.intake.charges.v1", str(tmp_path / "missing.json"), "--dry-run"])
    assert result.exit_code == 2
    assert "cannot read the file" in result.output


def test_publish_unreachable_broker_exit_3(tmp_path: Path) -> None:
    path = write(tmp_path, {"type": CHARGE, "data": example(CHARGE)})
    result = runner.invoke(
        ROOT,
        ["publish", "rcm.intake.charges.v1", str(path), "--json", "--timeout", "2"],
        env={"RCM_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
    )
    assert result.exit_code == 3
    assert json.loads(result.stdout)["errors"][0]["type"] == "broker_error"


def test_prepare_builds_key_value_and_headers() -> None:
    data = example(CHARGE)
    text = json.dumps(
        {
            "type": CHARGE,
            "data": data,
            "id": "0b6f7d2e-3c41-4a8e-b9f5-6d2c1e8a7f03",
            "time": "2026-03-02T14:05:00Z",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        }
    )
    prepared = cli.publish.prepare("rcm.intake.charges.v1", text)
    headers = dict(prepared.envelope.to_headers())
    assert prepared.key == data["source_encounter_id"]
    assert headers["ce_subject"] == prepared.key.encode()
    assert headers["ce_id"] == b"0b6f7d2e-3c41-4a8e-b9f5-6d2c1e8a7f03"
    assert headers["ce_type"] == CHARGE.encode()
    assert headers["ce_source"] == b"epic-prod"
    assert headers["ce_time"] == b"2026-03-02T14:05:00Z"
    assert headers["traceparent"].startswith(b"00-")
    assert json.loads(prepared.value)["unit_price"] == "150.00"


# --------------------------------------------------------------------------- docs


def test_docs_output_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "docs.html"
    result = runner.invoke(ROOT, ["docs", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "rcm.claims.ClaimSubmitted.v1" in out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def docs_url() -> Iterator[str]:
    server = cli.docs.make_server(0)
    assert server.server_address[0] == "127.0.0.1"
    with serving(server) as url:
        yield url


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_docs_server_serves_page_document_and_schemas(docs_url: str) -> None:
    status, headers, body = _get(docs_url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert b"rcm.intake.charges.v1" in body
    status, _, body = _get(docs_url + "/asyncapi.yaml")
    assert (status == 200 and body.startswith(b"asyncapi: 3.0.0")) or b"asyncapi: 3.0.0" in body
    status, _, body = _get(docs_url + "/jsonschema/rcm.intake.ChargeSubmitted.v1.json")
    assert status == 200 and json.loads(body)["title"] == "ChargeSubmitted"
    assert _get(docs_url + "/jsonschema/..%2F..%2Fpyproject.toml")[0] == 404
    assert _get(docs_url + "/nope")[0] == 404
