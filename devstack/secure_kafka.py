"""`rcm up --secure`: the local Kafka with SASL/SCRAM-SHA-512 over TLS and one principal per service.

Everything is generated here, once per state directory, and kept in `$RCM_STATE_DIR/kafka-secure`
(0700; secrets 0600): a self-signed CA and the broker's certificate (PEM, which Kafka 4 reads as
keystore and truststore), a random password per principal (`admin`, the super user that provisions,
and one per service), the broker's security properties and the SCRAM credentials its storage is
formatted with. deploy/local/kafka.sh runs that broker when RCM_LOCAL_KAFKA_SECURE=1.

The ACLs come from the topic catalog (deploy/topics.yaml): a service may write (and describe) the
topics it owns, its DLQ included; read the topics it consumes and its own DLQ (`rcm dlq`, replay);
and use its own consumer group. Nothing else: no create, no delete, no other group. Kafka 4 needs no
IDEMPOTENT_WRITE on the cluster for an idempotent producer (WRITE on a topic implies it, KIP-679).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from devstack.stack import StackError
from services.chassis.kafka import client_options
from services.chassis.settings import SERVICES, Settings
from services.chassis.topics import TopicSpec, load_catalog

ADMIN = "admin"
# The outside senders' principal: it may write the intake topics (owner `integration`) and nothing else.
INTEGRATION = "integration"
PRINCIPALS = (ADMIN, *SERVICES, INTEGRATION)
BROKER_CN = "rcm-local-broker"
MECHANISM = "SCRAM-SHA-512"

# Kafka protocol codes (org.apache.kafka.common.acl / resource).
TOPIC, GROUP = 2, 3
LITERAL = 3
READ, WRITE, DESCRIBE = 3, 4, 8
ALLOW = 3
OPERATION_NAMES = {READ: "READ", WRITE: "WRITE", DESCRIBE: "DESCRIBE"}
RESOURCE_NAMES = {TOPIC: "topic", GROUP: "group"}


class SecureKafkaError(StackError):
    pass


@dataclass(frozen=True)
class Acl:
    principal: str  # the SCRAM user name, as User:<name>
    resource_type: int
    resource: str
    operation: int

    def __str__(self) -> str:
        return (f"User:{self.principal} {OPERATION_NAMES[self.operation]} "
                f"{RESOURCE_NAMES[self.resource_type]} {self.resource}")


@dataclass(frozen=True)
class SecureKafka:
    """The generated material of one state directory."""

    dir: Path

    @property
    def ca_file(self) -> Path:
        return self.dir / "tls" / "ca.pem"

    @property
    def credentials_file(self) -> Path:
        return self.dir / "credentials.json"

    def password(self, principal: str) -> str:
        passwords: dict[str, str] = json.loads(self.credentials_file.read_text())
        try:
            return passwords[principal]
        except KeyError:
            raise SecureKafkaError(f"no Kafka credentials for {principal} in {self.credentials_file}") from None

    def client_settings(self, settings: Settings, principal: str) -> Settings:
        """`settings` as the principal connects: SASL_SSL, its password, the generated CA."""
        return settings.model_copy(update={
            "kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": MECHANISM,
            "kafka_username": principal, "kafka_password": SecretStr(self.password(principal)),
            "kafka_ca_file": self.ca_file,
        })

    def client_env(self, principal: str) -> dict[str, str]:
        """The same as RCM_ variables, for a service process `rcm up --secure` starts."""
        return {"RCM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "RCM_KAFKA_SASL_MECHANISM": MECHANISM,
                "RCM_KAFKA_USERNAME": principal, "RCM_KAFKA_PASSWORD": self.password(principal),
                "RCM_KAFKA_CA_FILE": str(self.ca_file)}


def write_admin_env(secure: SecureKafka) -> Path:
    """The super user's client settings as a shell file (0600) for an operator's `rcm` commands."""
    path = secure.dir / "admin.env"
    _private(path, "".join(f"{k}={v}\n" for k, v in secure.client_env(ADMIN).items()).encode())
    return path


def secure_dir(settings: Settings) -> Path:
    return settings.state_dir / "kafka-secure"


def _private(path: Path, data: bytes) -> None:
    """Write a secret readable by its owner only (created 0600, never world-readable meanwhile)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(0o600)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certificates(tls: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("rcm-local-ca")).issuer_name(_name("rcm-local-ca"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=825))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(_name(BROKER_CN)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=825))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # The broker's certificate also identifies it to its own controller (mutual TLS).
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    # The CA's key is not kept: nothing else is ever signed with it.
    (tls / "ca.pem").write_bytes(ca.public_bytes(pem))
    _private(tls / "broker.pem", key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption())
             + cert.public_bytes(pem) + ca.public_bytes(pem))


def prepare(settings: Settings) -> SecureKafka:
    """Generate what is missing (idempotent: an existing broker keeps its CA and passwords)."""
    secure = SecureKafka(secure_dir(settings))
    tls = secure.dir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    secure.dir.chmod(0o700)
    if not (tls / "broker.pem").is_file() or not secure.ca_file.is_file():
        _certificates(tls)
    if not secure.credentials_file.is_file():
        passwords = {p: secrets.token_urlsafe(24) for p in PRINCIPALS}
        _private(secure.credentials_file, json.dumps(passwords, indent=2).encode())
    admin_password = secure.password(ADMIN)
    properties = f"""# Written by devstack/secure_kafka.py (rcm up --secure); kafka.sh adds the listeners.
sasl.enabled.mechanisms={MECHANISM}
sasl.mechanism.inter.broker.protocol={MECHANISM}
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \
required username="{ADMIN}" password="{admin_password}";
ssl.keystore.type=PEM
ssl.keystore.location={tls / "broker.pem"}
ssl.truststore.type=PEM
ssl.truststore.location={secure.ca_file}
ssl.endpoint.identification.algorithm=https
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{ADMIN};User:CN={BROKER_CN}
allow.everyone.if.no.acl.found=false
"""
    _private(secure.dir / "security.properties", properties.encode())
    scram = "".join(f"{MECHANISM}=[name={p},password={secure.password(p)}]\n" for p in PRINCIPALS)
    _private(secure.dir / "scram.args", scram.encode())
    return secure


def acls(settings: Settings, catalog: list[TopicSpec] | None = None) -> list[Acl]:
    """Every ACL of every principal but the super user, from the topic catalog (prefixed names)."""
    catalog = catalog or load_catalog()
    out: list[Acl] = []
    for principal in (*SERVICES, INTEGRATION):
        for t in catalog:
            topic = settings.topic(t.name)
            if t.owner == principal:
                out += [Acl(principal, TOPIC, topic, WRITE), Acl(principal, TOPIC, topic, DESCRIBE)]
            if principal in t.consumers or (t.kind == "dlq" and t.owner == principal):
                out += [Acl(principal, TOPIC, topic, READ), Acl(principal, TOPIC, topic, DESCRIBE)]
        if principal in SERVICES:
            out.append(Acl(principal, GROUP, settings.group_id(principal), READ))
    return list(dict.fromkeys(out))


async def ensure_acls(admin_settings: Settings, wanted: list[Acl]) -> None:
    """Create the ACLs (an existing one is created again harmlessly) with the super user's client."""
    admin = AIOKafkaAdminClient(bootstrap_servers=admin_settings.bootstrap, request_timeout_ms=15000,
                                **client_options(admin_settings))
    await admin.start()
    try:
        for acl in wanted:
            request = CreateAclsRequest(acl.resource_type, acl.resource, LITERAL, f"User:{acl.principal}", "*",
                                        acl.operation, ALLOW)
            response = await admin._send_request(request)
            for error_code, message in response.creation_responses:
                if error_code:
                    raise SecureKafkaError(f"creating the ACL {acl} failed: error {error_code} {message or ''}")
    finally:
        await admin.close()
