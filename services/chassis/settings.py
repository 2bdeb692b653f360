"""Platform settings: every knob is an RCM_ environment variable (see README's settings reference).

Connection settings the user provides always win; the local stack only fills in what is unset.
"""

from __future__ import annotations

import getpass
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chassis import ports

ServiceName = Literal["charges", "claims", "remits", "notifications"]
SERVICES: tuple[ServiceName, ...] = ("charges", "claims", "remits", "notifications")


def _default_state_dir() -> Path:
    # /var/tmp, not $HOME or mktemp: the postgres user must be able to reach the data directory.
    return Path("/var/tmp") / f"revcycle-{getpass.getuser()}"  # noqa: S108 - a fixed, per-user folder


def local_role_password(role: str) -> str:
    """Password of a role in the *local* stack; real deployments pass full URLs instead."""
    return f"{role}-local"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_", extra="ignore")

    state_dir: Path = Field(default_factory=_default_state_dir)
    cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "revcycle"
    )
    topic_prefix: str = ""
    kafka_bootstrap: str | None = None
    # Every topic's replication factor, over the catalog's (deploy/topics.yaml): 1 for a one-broker
    # cluster (the tests'); unset, the catalog's, except on the local stack (one broker: 1).
    topic_replication_factor: int | None = Field(default=None, ge=1)
    # Kafka client security (docs/security.md): PLAINTEXT for the plain local stack and the tests;
    # SASL_SSL (SCRAM, TLS verified against the CA file) for `rcm up --secure` and real clusters.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ca_file: Path | None = None
    admin_database_url: str | None = None
    database_name: str = "rcm"
    charges_database_url: str | None = None
    claims_database_url: str | None = None
    remits_database_url: str | None = None
    notifications_database_url: str | None = None
    clearinghouse_root: Path | None = None
    codesets_dir: Path | None = None
    """Where `rcm codesets load icd10cm` writes ICD-10-CM editions and charges and claims read them."""
    # Ports of the local stack (deploy/local/*.sh read the same variables).
    local_kafka_port: int = ports.KAFKA
    local_kafka_controller_port: int = ports.KAFKA_CONTROLLER
    local_postgres_port: int = ports.POSTGRES

    # The address every listener binds (HTTP and the charges MLLP door): loopback for the local
    # stack, where nothing should be reachable from outside; the container image sets 0.0.0.0
    # because the pod's network, not the process, decides who may connect.
    http_host: str = "127.0.0.1"

    log_level: str = "INFO"
    otlp_endpoint: str | None = None
    traces_dir: Path | None = None
    """When set, every service also writes its spans to <dir>/<service>.jsonl (redacted like OTLP)."""
    trace_sql: bool = True
    """A span per SQL statement (no parameters), when an exporter is configured (services.chassis.telemetry)."""

    outbox_poll_interval_s: float = 1.0
    outbox_batch_size: int = 200
    # Micro-batched consumption (docs/reliability.md): up to this many records are classified and
    # applied in one transaction, and their offsets committed once, after it.
    consumer_batch_size: int = Field(default=500, ge=1)
    # How long an idle consumer waits for records before it polls again: the added latency of a
    # lone record is at most about twice this.
    consumer_batch_max_wait_ms: int = Field(default=100, ge=1)
    retry_attempts: int = 5
    retry_base_delay_s: float = 0.2
    retry_max_delay_s: float = 5.0
    retention_days: int = 30
    retention_interval_s: float = 3600.0
    # How often every instance samples the gauges read from Kafka or Postgres (consumer lag, outbox
    # backlog, the service's business gauges: services.chassis.sampling).
    metrics_sample_interval_s: float = Field(default=30.0, gt=0)
    # How long a service trusts a token it looked up: a revocation takes effect within this time.
    token_cache_s: float = 5.0

    # Apply the service's migrations at its start through the admin connection. false: the deploy
    # job runs `rcm migrate` and the service, given only its own database URL, checks that nothing
    # is pending (docs/security.md).
    migrate_on_start: bool = True

    # How many processes `rcm up` starts per service, in one consumer group (docs/scaling.md).
    instances: int = Field(default=1, ge=1, le=9)

    # A named failure point, only for the crash tests (see services/chassis/faults.py).
    fault: str | None = None

    @property
    def codesets_path(self) -> Path:
        return self.codesets_dir or self.state_dir / "codesets"

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.local_kafka_port}"

    @property
    def replication_factor_override(self) -> int | None:
        """The replication factor imposed on every topic, if any: RCM_TOPIC_REPLICATION_FACTOR, or 1
        when the broker is the local stack's own (never a guess from the address: a cluster given
        by RCM_KAFKA_BOOTSTRAP gets the catalog's unless told)."""
        if self.topic_replication_factor is not None:
            return self.topic_replication_factor
        return 1 if self.kafka_bootstrap is None else None

    @property
    def admin_url(self) -> str:
        if self.admin_database_url:
            return _with_database(self.admin_database_url, self.database_name)
        password = local_role_password("postgres")
        return f"postgresql://postgres:{password}@127.0.0.1:{self.local_postgres_port}/{self.database_name}"

    @property
    def admin_maintenance_url(self) -> str:
        """The admin connection pointed at the `postgres` database, to create or drop ours."""
        return _with_database(self.admin_url, "postgres")

    def database_url(self, service: ServiceName) -> str:
        explicit: str | None = getattr(self, f"{service}_database_url")
        if explicit:
            return explicit
        role = service_role(service)
        base = _with_database(self.admin_url, self.database_name)
        return _with_credentials(base, role, local_role_password(role))

    def database_role(self, service: ServiceName) -> str:
        """The login role a service connects as (the user of its database URL)."""
        user = urlsplit(self.database_url(service)).username
        return unquote(user) if user else service_role(service)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group_id(self, service: str) -> str:
        return f"{self.topic_prefix}rcm.{service}"

    def dlq_topic(self, service: str) -> str:
        return self.topic(f"rcm.{service}.dlq.v1")

    @property
    def clearinghouse(self) -> Path:
        return self.clearinghouse_root or self.state_dir / "clearinghouse"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"


class KafkaSecurityError(ValueError):
    """The Kafka security settings do not make a usable client configuration."""


def service_role(service: str) -> str:
    return f"rcm_{service}"


def owner_role(service: str) -> str:
    """The NOLOGIN role that owns a service's schema and tables and runs its migrations.

    The service's login role only gets the DML it needs: an owner could re-grant itself anything,
    so append-only tables cannot be append-only for the role the service connects as."""
    return f"rcm_{service}_owner"


def _with_database(url: str, database: str) -> str:
    head, _, tail = url.partition("://")
    rest, _, query = tail.partition("?")
    authority = rest.split("/", 1)[0]
    return f"{head}://{authority}/{database}" + (f"?{query}" if query else "")


def _with_credentials(url: str, user: str, password: str) -> str:
    head, _, tail = url.partition("://")
    hostpart = tail.split("@", 1)[-1]
    return f"{head}://{user}:{password}@{hostpart}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
