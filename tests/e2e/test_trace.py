"""One encounter followed from intake to its patient balance with tracing on (RCM_TRACES_DIR, the
same spans OTLP would carry): the integration engine sends the visit's intake events in one trace
(its traceparent on each record), and the test gathers every span of every trace the encounter's
events travelled in, and of every span those link to, then prints them as trees (service, span
name, duration, links).

The traceparent travels in each record's `traceparent` header (schemas/envelope.py): a consumer
span continues the sender's trace, the outbox row keeps the trace current when its handler wrote
it, and the relay's producer span continues that. A background pass (the claims batcher and
acknowledgment poller, the eligibility exchange, the remits 835 poller, the notifications sender)
has no incoming trace, but what it acts on remembers the trace it came in (a claim, an
eligibility check, remits' submission, a queued statement): it continues that one per aggregate
(services/chassis/telemetry.py `continued`), in a span linked to the pass's own span (the 837
batch, the acknowledgment or 835 file). So the encounter is ONE trace from intake to the
statement sent; the files are traces of their own, linked (docs/trace-example.txt is a copy of a
run's output).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import domain_topics
from services.chassis.settings import Settings
from tests.e2e.support import Line, Rcm, Timeline, Visit, coverage
from tests.support.kafka_io import publish, read_topic

pytestmark = pytest.mark.integration
# Aetna, all to the $500 deductible: the patient owes what Aetna allows, so a balance is billed.
VISIT = Visit("traced", (coverage(1, "60054", "W000000031"),), (Line("99213", "150.00"),))


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # No span per SQL statement: the trees show the hops between services, not every statement.
    return {"RCM_TRACES_DIR": str(tmp_path_factory.mktemp("traces")), "RCM_TRACE_SQL": "false"}


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    name: str
    start: datetime
    end: datetime
    event_type: str | None
    message_id: str | None
    links: tuple[tuple[str, str], ...] = ()
    """(trace id, span id) of each span this one links to."""

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start).total_seconds() * 1000


def _hex(value: str | None) -> str | None:
    return None if value is None else value.removeprefix("0x")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_spans(folder: Path) -> list[Span]:
    spans = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            raw: dict[str, Any] = json.loads(line)
            attributes = raw.get("attributes") or {}
            trace_id, span_id = _hex(raw["context"]["trace_id"]), _hex(raw["context"]["span_id"])
            assert trace_id is not None and span_id is not None
            spans.append(Span(trace_id, span_id, _hex(raw.get("parent_id")),
                              raw["resource"]["attributes"]["service.name"].removeprefix("rcm-"), raw["name"],
                              _time(raw["start_time"]), _time(raw["end_time"]), attributes.get("rcm.event_type"),
                              attributes.get("messaging.message.id"), tuple(
                                  (str(_hex(link["context"]["trace_id"])), str(_hex(link["context"]["span_id"])))
                                  for link in raw.get("links") or ())))
    return spans


def tree(spans: list[Span], trace_id: str, prefix: str = "") -> list[str]:
    """The trace's spans, indented under their parents (a parent not exported is the sender's),
    each span linked to named after `->`; topic names without the run's `prefix`."""
    names = {(s.trace_id, s.span_id): s.name for s in spans}
    mine = [s for s in spans if s.trace_id == trace_id]
    ids = {s.span_id for s in mine}
    children: dict[str | None, list[Span]] = defaultdict(list)
    for s in mine:
        children[s.parent_id if s.parent_id in ids else None].append(s)
    lines = [f"trace {trace_id}"]

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children[parent], key=lambda s: s.start):
            what = f" [{s.event_type.split('.')[2]}]" if s.event_type else ""
            name = s.name.removeprefix(prefix) if prefix else s.name
            linked = "".join(f"  -> {names.get(link, 'not exported')} ({link[0][:8]})" for link in s.links)
            lines.append(f"{'  ' * depth}{s.service:<13} {name}{what}  {s.duration_ms:.1f} ms{linked}")
            walk(s.span_id, depth + 1)

    walk(None, 1)
    return lines


@dataclass(frozen=True)
class Sent:
    """One domain event of the encounter as it travelled: its type, id and the trace it carried."""

    name: str
    event_id: str
    trace_id: str | None


async def events_of(settings: Settings, encounter_id: str, balance_id: str) -> list[Sent]:
    found = []
    for topic in domain_topics():
        for _, value, headers in await read_topic(settings, topic):
            data = json.loads(value)
            related = data.get("related") if isinstance(data.get("related"), dict) else {}
            if data.get("encounter_id") != encounter_id and related.get("balance_id") != balance_id:
                continue
            h = {k: v.decode() for k, v in headers}
            parent = h.get("traceparent")
            found.append(Sent(h["ce_type"].split(".")[2], h["ce_id"], parent.split("-")[1] if parent else None))
    return found


async def test_one_encounter_from_intake_to_its_patient_balance(rcm: Rcm, platform: Settings,
                                                                 stack_env: dict[str, str]) -> None:
    sender_trace = secrets.token_hex(16)
    traceparent = f"00-{sender_trace}-{secrets.token_hex(8)}-01"
    timeline = Timeline(platform)
    await timeline.start()
    try:
        for event in VISIT.events(datetime.now(UTC).date() - timedelta(days=6)):
            await publish(platform, event, traceparent=traceparent)
        encounter_id = await timeline.until(lambda: timeline.encounter_id(VISIT), "charges posted")
        balance = (await timeline.until(lambda: timeline.of("PatientBalanceCreated", encounter_id=encounter_id),
                                        "the patient balance"))[0]
        await timeline.until(lambda: timeline.of("NotificationSent", related__balance_id=balance["balance_id"]),
                             "the statement sent")
    finally:
        await timeline.stop()
    await asyncio.sleep(6)  # spans leave each process in batches every 5 s
    sent = await events_of(platform, encounter_id, balance["balance_id"])
    spans = load_spans(Path(stack_env["RCM_TRACES_DIR"]))
    traces = list(dict.fromkeys([sender_trace, *(e.trace_id for e in sent if e.trace_id)]))
    passes = list(dict.fromkeys(link[0] for s in spans if s.trace_id in traces for link in s.links))
    for trace_id in [*traces, *(t for t in passes if t not in traces)]:
        names = sorted({e.name for e in sent if e.trace_id == trace_id})
        print(f"\n# events: {', '.join(names)}" if trace_id in traces
              else "\n# a background pass, linked to from the trace above")
        print("\n".join(tree(spans, trace_id, platform.topic_prefix)))

    assert all(e.trace_id for e in sent), [e.name for e in sent if not e.trace_id]
    trace_of = {e.name: e.trace_id or "" for e in sent}
    # 1. ONE trace, the integration engine's, from intake to the statement: what the background
    # passes emit continues the trace their claim, check, submission or statement came in.
    whole = ("ChargePosted", "EncounterReadyToBill", "ClaimCreated", "EligibilityChecked", "PatientEstimated",
             "ClaimSubmitted", "ClaimAccepted", "ClaimPaymentPosted", "ClaimAdjudicated", "PatientBalanceCreated",
             "NotificationSent")
    assert {name: trace_of[name] for name in whole} == dict.fromkeys(whole, sender_trace)
    chain(spans, sender_trace, ("charges", "publish", "EncounterReadyToBill"),
          ("claims", "process", "EncounterReadyToBill"), ("claims", "publish", "ClaimCreated"),
          ("notifications", "process", "ClaimCreated"))
    # The encounter is ready when its closing and its last expected charge are both in: either
    # intake record's span, as they arrived.
    ready = one(spans, sender_trace, "charges", "publish", "EncounterReadyToBill")
    [intake] = [s for s in spans if s.span_id == ready.parent_id]
    assert intake.service == "charges" and intake.name.endswith(
        (".rcm.intake.encounters.v1 process", ".rcm.intake.charges.v1 process")), intake
    # 2. Each pass's event hangs from a span of its own in the encounter's trace, linked to the
    # pass's span (an 837 batch, an acknowledgment, 271 or 835 file), itself in a trace of its own.
    for service, name, step, pass_name in (
            ("claims", "ClaimSubmitted", "claim submit", "837P batch"),
            ("claims", "ClaimAccepted", "claim acknowledgment", "acks ingest"),
            ("claims", "EligibilityChecked", "eligibility answer", "eligibility ingest"),
            ("remits", "ClaimPaymentPosted", "835 claim", "835 ingest"),
            ("remits", "PatientBalanceCreated", "encounter balance", "835 ingest")):
        linked(spans, continuing(spans, one(spans, sender_trace, service, "publish", name), step), pass_name)
    # The statement (NotificationSent, as the estimate's email) is sent in the trace its balance
    # queued it in: under notifications taking PatientBalanceCreated.
    taken = one(spans, sender_trace, "notifications", "process", "PatientBalanceCreated")
    [send] = [s for s in spans if s.parent_id == taken.span_id]
    linked(spans, send, "notifications send")
    [statement] = [s for s in spans if s.parent_id == send.span_id]
    assert statement.name.endswith(" publish") and statement.event_type == "rcm.notifications.NotificationSent.v1"
    # 3. What the posting emits is consumed in the encounter's trace too: claims adjudicates the
    # claim, notifications takes the balance (and sends the statement).
    chain(spans, sender_trace, ("remits", "publish", "ClaimPaymentPosted"), ("claims", "process", "ClaimPaymentPosted"),
          ("claims", "publish", "ClaimAdjudicated"))
    chain(spans, sender_trace, ("remits", "publish", "PatientBalanceCreated"),
          ("notifications", "process", "PatientBalanceCreated"))
    # 4. The 835 file's own trace keeps what is the file's, not one encounter's.
    [ingest] = [s for s in spans if s.name == "835 ingest" and any(
        (s.trace_id, s.span_id) in x.links for x in spans if x.trace_id == sender_trace)]
    assert ingest.parent_id is None and ingest.trace_id != sender_trace
    one(spans, ingest.trace_id, "remits", "publish", "RemittanceReceived")


def linked(spans: list[Span], span: Span, name: str) -> None:
    """`span` links to one span, `name`: the root of a background pass's own trace."""
    [passing] = [s for s in spans if (s.trace_id, s.span_id) in span.links]
    assert passing.name == name and passing.parent_id is None and passing.trace_id != span.trace_id, (span, passing)


def continuing(spans: list[Span], child: Span, name: str) -> Span:
    """The span `child` hangs from: a background pass's span `name`, in the same trace."""
    [parent] = [s for s in spans if s.span_id == child.parent_id]
    assert parent.name == name and parent.trace_id == child.trace_id, (name, parent)
    return parent


def one(spans: list[Span], trace_id: str, service: str, kind: str, name: str) -> Span:
    found = [s for s in spans if s.trace_id == trace_id and s.service == service and s.name.endswith(f" {kind}")
             and (s.event_type or "").split(".")[2:3] == [name]]
    assert len(found) == 1, (service, kind, name, found)
    return found[0]


def chain(spans: list[Span], trace_id: str, *steps: tuple[str, str, str]) -> None:
    """Each step's span is in the trace, a child of the step before it."""
    found = [one(spans, trace_id, *step) for step in steps]
    for parent, child in itertools.pairwise(found):
        assert child.parent_id == parent.span_id, (parent, child)
