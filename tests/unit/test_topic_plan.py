"""The topic planner: the catalog and a cluster's observed state in, the steps of `rcm topics apply` out."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.topics import CatalogError, TopicSpec, load_topics
from services.chassis.settings import Settings
from services.chassis.topic_plan import Cluster, Observed, Step, Wanted, has_drift, plan, wanted_topics

CLUSTER = Settings(kafka_bootstrap="broker-1:9092", topic_prefix="p.", topic_replication_factor=None)
WANTED = Wanted("p.rcm.claims.v1", 3, 3, {"retention.ms": "2592000000", "cleanup.policy": "delete",
                                          "min.insync.replicas": "2"})
IN_SYNC = {"retention.ms": "2592000000", "cleanup.policy": "delete", "min.insync.replicas": "2"}


def observed(partitions: int = 3, replicas: int = 3, configs: dict[str, str | None] | None = None,
             overrides: dict[str, str | None] | None = None) -> Observed:
    every: dict[str, str | None] = {**IN_SYNC, "segment.ms": "604800000", **(configs or {})}
    return Observed("p.rcm.claims.v1", partitions, replicas, every, overrides or {})


def only(steps: list[Step]) -> Step:
    assert len(steps) == 1, steps
    return steps[0]


def spec() -> TopicSpec:
    return next(t for t in load_topics() if t.name == "rcm.claims.v1")


def test_catalog_defaults_apply_to_every_topic_and_a_topic_overrides_them(tmp_path: Path) -> None:
    catalog = load_topics()
    assert all(t.replication_factor == 3 and t.configs["min.insync.replicas"] == "2" for t in catalog)
    dlq = next(t for t in catalog if t.name == "rcm.claims.dlq.v1")
    assert (dlq.partitions, dlq.retention_ms, dlq.cleanup_policy) == (1, 7776000000, "delete")
    path = tmp_path / "topics.yaml"
    path.write_text("defaults: {replication_factor: 2, configs: {min.insync.replicas: 2, x.flag: true}}\n"
                    "topics:\n- {name: a, kind: dlq, owner: o, key: k, partitions: 1, replication_factor: 3,\n"
                    "   configs: {retention.ms: 5, cleanup.policy: compact, min.insync.replicas: 1}}\n")
    (a,) = load_topics(path)
    assert a.replication_factor == 3
    assert a.configs == {"min.insync.replicas": "1", "x.flag": "true", "retention.ms": "5", "cleanup.policy": "compact"}


def test_a_catalog_no_write_could_satisfy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("defaults: {replication_factor: 1, configs: {min.insync.replicas: 2}}\n"
                    "topics:\n- {name: a, kind: dlq, owner: o, key: k, partitions: 1,\n"
                    "   configs: {retention.ms: 5, cleanup.policy: delete}}\n")
    with pytest.raises(CatalogError, match=r"min\.insync\.replicas"):
        load_topics(path)


def test_the_replication_factor_is_the_catalogs_unless_the_settings_impose_one() -> None:
    (on_cluster,) = wanted_topics([spec()], CLUSTER)
    assert on_cluster == WANTED
    (one_broker,) = wanted_topics([spec()], CLUSTER.model_copy(update={"topic_replication_factor": 1}))
    assert (one_broker.replication_factor, one_broker.configs["min.insync.replicas"]) == (1, "1")
    assert "replication factor 1 set by the settings (catalog 3)" in one_broker.note
    assert "min.insync.replicas 1 (catalog 2)" in one_broker.note
    # The local stack's own broker (no RCM_KAFKA_BOOTSTRAP) is one node: never a guess from an address.
    local = Settings(kafka_bootstrap=None, topic_replication_factor=None)
    assert wanted_topics([spec()], local)[0].replication_factor == 1
    loopback = Settings(kafka_bootstrap="127.0.0.1:39092", topic_replication_factor=None)
    assert wanted_topics([spec()], loopback)[0].replication_factor == 3


def test_a_missing_topic_is_created_with_the_catalogs_configs() -> None:
    step = only(plan([WANTED], Cluster(brokers=3, topics={}), "p."))
    assert (step.action, step.partitions, step.replication_factor, step.configs) == ("create", 3, 3, IN_SYNC)
    assert "3 partitions, replication factor 3" in step.detail and "retention.ms=2592000000" in step.detail


def test_a_replication_factor_the_cluster_cannot_have_is_drift_never_capped() -> None:
    step = only(plan([WANTED], Cluster(brokers=1, topics={}), "p."))
    assert step.action == "drift" and "RCM_TOPIC_REPLICATION_FACTOR" in step.detail
    assert has_drift([step])


def test_a_topic_as_the_catalog_says_needs_nothing() -> None:
    step = only(plan([WANTED], Cluster(3, {WANTED.name: observed()}), "p."))
    assert (step.action, step.detail) == ("none", "in sync")
    assert not has_drift([step])


def test_partitions_are_raised_never_lowered() -> None:
    grow = only(plan([WANTED], Cluster(3, {WANTED.name: observed(partitions=2)}), "p."))
    assert (grow.action, grow.partitions) == ("add_partitions", 3)
    shrink = only(plan([WANTED], Cluster(3, {WANTED.name: observed(partitions=6)}), "p."))
    assert shrink.action == "drift" and "cannot remove partitions" in shrink.detail and "6" in shrink.detail


def test_another_replication_factor_is_drift_with_what_to_do() -> None:
    step = only(plan([WANTED], Cluster(3, {WANTED.name: observed(replicas=1)}), "p."))
    assert step.action == "drift" and "kafka-reassign-partitions" in step.detail


def test_an_alter_sends_the_topics_own_overrides_again_with_the_catalogs_changes() -> None:
    # AlterConfigs replaces every override of the topic: segment.ms, set by hand, must be sent again.
    found = observed(configs={"retention.ms": "86400000"},
                     overrides={"retention.ms": "86400000", "cleanup.policy": "delete", "segment.ms": "3600000"})
    step = only(plan([WANTED], Cluster(3, {WANTED.name: found}), "p."))
    assert step.action == "alter_config"
    assert step.configs == {"retention.ms": "2592000000", "cleanup.policy": "delete", "segment.ms": "3600000"}
    assert step.detail == "retention.ms 86400000 -> 2592000000"


def test_a_catalog_value_equal_to_the_brokers_default_is_not_altered() -> None:
    # min.insync.replicas comes from the broker here (not an override) and already has the value.
    found = observed(overrides={"retention.ms": "2592000000", "cleanup.policy": "delete"})
    assert only(plan([WANTED], Cluster(3, {WANTED.name: found}), "p.")).action == "none"


def test_a_sensitive_override_the_alter_would_reset_is_drift() -> None:
    found = observed(configs={"retention.ms": "1"}, overrides={"retention.ms": "1", "secret.thing": None})
    step = only(plan([WANTED], Cluster(3, {WANTED.name: found}), "p."))
    assert step.action == "drift" and "secret.thing" in step.detail and "--add-config retention.ms=2592000000" \
        in step.detail


def test_several_changes_to_one_topic_are_one_step_each() -> None:
    found = observed(partitions=2, configs={"cleanup.policy": "compact"}, overrides={"cleanup.policy": "compact"})
    steps = plan([WANTED], Cluster(3, {WANTED.name: found}), "p.")
    assert [s.action for s in steps] == ["add_partitions", "alter_config"]


def test_our_topics_outside_the_catalog_are_reported_and_others_ignored() -> None:
    topics = {name: Observed(name, 1, 3, {}, {}) for name in
              ("p.rcm.old.v1", "p.rcm.probe.v1", "q.rcm.claims.v1", "p.other.v1")}
    steps = plan([], Cluster(3, topics), "p.")
    assert [(s.topic, s.action) for s in steps] == [("p.rcm.old.v1", "unmanaged")]
    assert not has_drift(steps)
