"""`rcm up --secure` without a broker: the ACLs the catalog gives each principal, the generated
material (modes, idempotence, a certificate the CA verifies) and the clients' security options."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from pydantic import SecretStr

from devstack import secure_kafka
from devstack.secure_kafka import DESCRIBE, GROUP, READ, TOPIC, WRITE, Acl
from services.chassis.kafka import broker_security, client_options
from services.chassis.settings import SERVICES, KafkaSecurityError, Settings
from services.chassis.topics import load_catalog, topics_consumed_by


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(state_dir=tmp_path, topic_prefix="p.", **overrides)  # type: ignore[arg-type]


def test_each_service_writes_its_own_topics_reads_what_it_consumes_in_its_own_group(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    acls = secure_kafka.acls(settings)
    catalog = load_catalog()
    for service in SERVICES:
        mine = [a for a in acls if a.principal == service]
        writes = {a.resource for a in mine if a.operation == WRITE}
        reads = {a.resource for a in mine if a.operation == READ and a.resource_type == TOPIC}
        assert writes == {f"p.{t.name}" for t in catalog if t.owner == service}
        assert f"p.rcm.{service}.dlq.v1" in writes
        assert reads == {f"p.{t}" for t in topics_consumed_by(service)} | {f"p.rcm.{service}.dlq.v1"}
        assert {a.resource for a in mine if a.resource_type == GROUP} == {f"p.rcm.{service}"}
        assert {a.operation for a in mine} <= {READ, WRITE, DESCRIBE}  # no CREATE, DELETE, ALTER, ALL
    assert Acl("charges", TOPIC, "p.rcm.claims.v1", WRITE) not in acls
    intake = {a.resource for a in acls if a.principal == secure_kafka.INTEGRATION}
    assert intake == {f"p.{t.name}" for t in catalog if t.kind == "intake"}
    assert len(acls) == len(set(acls))


def test_the_material_is_private_kept_and_verifiable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = secure_kafka.prepare(settings)
    passwords = json.loads(first.credentials_file.read_text())
    assert set(passwords) == set(secure_kafka.PRINCIPALS)
    ca = first.ca_file.read_bytes()
    second = secure_kafka.prepare(settings)  # a second `rcm up --secure` keeps CA and passwords
    assert json.loads(second.credentials_file.read_text()) == passwords
    assert second.ca_file.read_bytes() == ca
    for name in ("credentials.json", "security.properties", "scram.args", "tls/broker.pem"):
        assert (first.dir / name).stat().st_mode & 0o777 == 0o600, name
    assert first.dir.stat().st_mode & 0o777 == 0o700
    assert passwords["admin"] in (first.dir / "security.properties").read_text()
    assert len((first.dir / "scram.args").read_text().splitlines()) == len(secure_kafka.PRINCIPALS)
    broker = x509.load_pem_x509_certificates((first.dir / "tls" / "broker.pem").read_bytes())[0]
    broker.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    env = first.client_env("charges")
    assert env["RCM_KAFKA_USERNAME"] == "charges" and env["RCM_KAFKA_PASSWORD"] == passwords["charges"]
    assert oct(secure_kafka.write_admin_env(first).stat().st_mode & 0o777) == oct(0o600)


def test_client_options_plaintext_by_default_and_verified_tls_with_scram(tmp_path: Path) -> None:
    assert client_options(_settings(tmp_path)) == {}
    assert broker_security(_settings(tmp_path)) is None
    with pytest.raises(KafkaSecurityError, match="RCM_KAFKA_USERNAME and RCM_KAFKA_PASSWORD"):
        client_options(_settings(tmp_path, kafka_security_protocol="SASL_SSL"))
    with pytest.raises(KafkaSecurityError, match="RCM_KAFKA_CA_FILE"):
        client_options(_settings(tmp_path, kafka_security_protocol="SASL_SSL", kafka_username="u",
                                 kafka_password=SecretStr("p"), kafka_ca_file=tmp_path / "missing.pem"))
    material = secure_kafka.prepare(_settings(tmp_path))
    secure = material.client_settings(_settings(tmp_path), "claims")
    options = client_options(secure)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "claims"
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    security = broker_security(secure)
    assert security is not None and security.use_ssl
