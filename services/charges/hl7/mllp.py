"""The HL7 v2 door's adapter: DFT^P03 and ADT^A01/A03/A04/A08 over MLLP on RCM_HTTP_HOST
(default 127.0.0.1) port RCM_CHARGES_MLLP_PORT (default 2575).

One frame, one original-mode ACK:
  AA  every event of the message validated and was queued, in one transaction;
  AE  the content is wrong (mapping or contract errors, all of them, one ERR each naming the
      HL7 field): nothing was queued, send it again only once fixed;
  AR  the envelope is unusable (header, message type, structure, size) or storage failed:
      nothing was queued; after a storage failure the same message may simply be resent.

A frame begun but not ended within RCM_CHARGES_MLLP_IDLE_TIMEOUT_S (default 60 s) is dropped
and its connection closed; an idle connection between frames is kept.

Resending is safe: charges carry idempotency keys, and encounter events carry whole state.
Logs carry ids and HL7 locations only, never message content.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from pydantic import BaseModel

from schemas.registry import ContractError, validate
from services.charges import store
from services.charges.domain.chargemaster import ChargemasterItem
from services.charges.hl7.ack import AckCode, ack_message
from services.charges.hl7.codec import Hl7Error, Hl7Header, Hl7Location, Hl7MappingError, read_header
from services.charges.hl7.defaults import Hl7Defaults, defaults_from_mapping
from services.charges.hl7.mapping import (
    ENCOUNTER_UPDATED,
    DftMapping,
    chargemaster_codes,
    contract_error,
    read_message,
)
from services.charges.service import doors, unit
from services.chassis import ports
from services.chassis.logs import ids
from services.chassis.runtime import Runtime

__all__ = [
    "DEFAULTS_PATH",
    "IDLE_TIMEOUT_S",
    "MAX_FRAME_BYTES",
    "Hl7Door",
    "MllpFramer",
    "load_defaults",
    "mllp_idle_timeout",
    "mllp_port",
]

log = logging.getLogger(__name__)

DEFAULTS_PATH = Path(__file__).resolve().parents[3] / "deploy" / "local" / "hl7.yaml"
MAX_FRAME_BYTES = 1024 * 1024
"""A DFT with hundreds of FT1 segments is well under this; anything larger is refused (AR)."""
IDLE_TIMEOUT_S = 60.0
"""A frame begun but not finished for this long is abandoned and the connection closed: a
half-open frame (a sender that died mid-message, a port scanner) must not hold a connection
and its buffer forever. An idle connection between frames is normal MLLP and is kept."""
_HEAD_BYTES = 4096  # enough of an oversized frame to read its MSH and answer it
_READ_CHUNK = 65536
_START = 0x0B
_END = b"\x1c\x0d"

_STORAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def mllp_port() -> int:
    return int(os.environ.get("RCM_CHARGES_MLLP_PORT", ports.CHARGES_MLLP))


def mllp_idle_timeout() -> float:
    """Seconds a half-received frame may wait for its next bytes (RCM_CHARGES_MLLP_IDLE_TIMEOUT_S)."""
    raw = os.environ.get("RCM_CHARGES_MLLP_IDLE_TIMEOUT_S")
    if raw is None:
        return IDLE_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("RCM_CHARGES_MLLP_IDLE_TIMEOUT_S must be a number of seconds") from None
    if not 0 < value <= 3600:
        raise ValueError("RCM_CHARGES_MLLP_IDLE_TIMEOUT_S must be between 0 and 3600 seconds")
    return value


def load_defaults(path: Path | None = None) -> Hl7Defaults:
    """The interface defaults (deploy/local/hl7.yaml, or RCM_CHARGES_HL7_DEFAULTS)."""
    source = path or Path(os.environ.get("RCM_CHARGES_HL7_DEFAULTS", DEFAULTS_PATH))
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("hl7 defaults: the file must hold a mapping")
    return defaults_from_mapping(raw)


# --------------------------------------------------------------------------- framing


@dataclass
class MllpFramer:
    """Splits a byte stream into MLLP frames (VT payload FS CR).

    Bytes outside a frame are skipped (senders add stray LFs between frames), a VT inside a
    frame restarts it (the sender gave up on a partial frame), and a frame over `limit` is
    reported by its head only, so memory stays bounded whatever arrives.
    """

    limit: int = MAX_FRAME_BYTES
    skipped: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _in_frame: bool = False
    _head: bytes | None = None  # set while discarding an oversized frame

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """Complete frames as (payload, oversized); an oversized frame's payload is its head."""
        self._buffer += data
        frames: list[tuple[bytes, bool]] = []
        while True:
            buf = self._buffer
            if not self._in_frame:
                start = buf.find(_START)
                if start < 0:
                    self.skipped += len(buf)
                    buf.clear()
                    return frames
                self.skipped += start
                del buf[: start + 1]
                self._in_frame, self._head = True, None
            end = buf.find(_END)
            restart = buf.find(_START)
            if restart >= 0 and (end < 0 or restart < end):
                self.skipped += restart
                del buf[: restart + 1]
                self._head = None
                continue
            if end >= 0:
                if self._head is not None:
                    frames.append((self._head, True))
                elif end > self.limit:
                    frames.append((bytes(buf[: min(end, _HEAD_BYTES)]), True))
                else:
                    frames.append((bytes(buf[:end]), False))
                del buf[: end + len(_END)]
                self._in_frame, self._head = False, None
                continue
            if self._head is None and len(buf) > self.limit:
                self._head = bytes(buf[:_HEAD_BYTES]).rstrip(b"\x1c")
            if self._head is not None:
                del buf[:-1]  # keep a trailing FS: its CR may come in the next chunk
            return frames

    @property
    def in_frame(self) -> bool:
        """A frame has begun (VT seen) and not ended yet."""
        return self._in_frame


def _decode(payload: bytes) -> str:
    # HL7 v2 has no reliable charset signal before MSH-18; UTF-8 first, Latin-1 never fails.
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("latin-1")


# --------------------------------------------------------------------------- the door


class Hl7Door:
    """Turns one frame into one ACK. `handle` never raises."""

    def __init__(self, runtime: Runtime, defaults: Hl7Defaults, *, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.runtime = runtime
        self.defaults = defaults
        self.idle_timeout = idle_timeout
        self.connections: set[asyncio.Task[Any]] = set()

    async def handle(self, payload: bytes, *, oversized: bool = False) -> bytes:
        started = time.monotonic()
        header: Hl7Header | None = None
        code: AckCode
        errors: list[Hl7Error]
        try:
            text = _decode(payload)
            header = read_header(text)
            if oversized:
                error = Hl7Error(None, "207", f"the message exceeds the size limit of {MAX_FRAME_BYTES} bytes")
                code, errors = "AR", [error]
            else:
                code, errors = await self._process(text)
        except Exception as exc:
            # A bug must cost one message an AR, never the listener.
            log.error("hl7 message failed", extra=ids(component="mllp", error_class=type(exc).__name__))
            code, errors = "AR", [Hl7Error(None, "207", "internal error: the message was not stored; send it again")]
        self._log(code, errors, started)
        ack = ack_message(header, code, errors, control_id=uuid.uuid4().hex[:20], now=self.runtime.clock.now())
        return ack.encode("utf-8")

    async def _process(self, text: str) -> tuple[AckCode, list[Hl7Error]]:
        try:
            chargemaster = await self._chargemaster(text)
        except _STORAGE_ERRORS as exc:
            log.error("hl7 chargemaster not read", extra=ids(component="mllp", error_class=type(exc).__name__))
            return "AR", [Hl7Error(None, "207", "the message could not be mapped now; send it again")]
        try:
            mapping = read_message(text, self.defaults, chargemaster)
        except Hl7MappingError as err:
            return ("AR" if err.reject else "AE"), [err.as_error()]
        models, errors = _validate(mapping)
        if mapping.errors:
            return "AE", _merge(mapping.errors, errors)
        if errors:
            return "AE", errors
        try:
            async with self.runtime.db.acquire() as conn, conn.transaction():
                if await store.encounter_is_registered(conn, mapping.source_system, mapping.source_encounter_id):
                    mapping = mapping.with_encounter_type(ENCOUNTER_UPDATED)
                    models = [
                        validate(ev.type, ev.data) if ev.type == ENCOUNTER_UPDATED else model
                        for ev, model in zip(mapping.events, models, strict=True)
                    ]
                accepted = await doors.accept(conn, self.runtime.clock, models)
        except _STORAGE_ERRORS as exc:
            log.error("hl7 message not stored", extra=ids(component="mllp", error_class=type(exc).__name__))
            return "AR", [Hl7Error(None, "207", "the message could not be stored; send it again")]
        log.info(
            "hl7 message accepted",
            extra=ids(component="mllp", count=len(accepted), encounter_id=accepted[0].encounter_id),
        )
        return "AA", []

    async def _chargemaster(self, text: str) -> dict[str, ChargemasterItem]:
        """The items the FT1-7 codes of a facility feed's message name: its lines take their
        revenue codes and claim types from them. Nothing for a professional interface (the
        charges service resolves its chargemaster codes)."""
        header = read_header(text)
        interface = None if header is None else self.defaults.for_sender(
            header.sending_application, header.sending_facility
        )
        codes = chargemaster_codes(text) if interface is not None and interface.bills != "professional" else []
        if not codes:
            return {}
        async with self.runtime.db.acquire() as conn:
            return await unit.chargemaster_items(conn, codes)

    def _log(self, code: AckCode, errors: list[Hl7Error], started: float) -> None:
        if code == "AA":
            return
        first = errors[0] if errors else None
        # The location and table code only: enough to find the problem, nothing from the message.
        reason = f"{first.code} {first.location or 'message'}" if first else code
        log.warning(
            "hl7 message refused",
            extra=ids(
                component="mllp",
                state=code,
                reason=reason,
                count=len(errors),
                duration_ms=round((time.monotonic() - started) * 1000),
            ),
        )

    async def connection(self, reader: Any, writer: Any) -> None:
        """One MLLP connection: frames in, one ACK per frame out, in order."""
        task = asyncio.current_task()
        if task is not None:
            self.connections.add(task)
        framer = MllpFramer()
        try:
            while True:
                if framer.in_frame:
                    try:
                        data = await asyncio.wait_for(reader.read(_READ_CHUNK), self.idle_timeout)
                    except TimeoutError:
                        # Nothing from the frame is logged: it may be PHI, and it is incomplete.
                        log.warning(
                            "mllp half-open frame timed out; connection closed",
                            extra=ids(component="mllp", duration_ms=round(self.idle_timeout * 1000)),
                        )
                        return
                else:
                    data = await reader.read(_READ_CHUNK)
                if not data:
                    return
                for payload, oversized in framer.feed(data):
                    ack = await self.handle(payload, oversized=oversized)
                    writer.writeblock(ack)
                    await writer.drain()
        except (ConnectionError, OSError):
            return  # the peer went away; nothing was half-written to the database
        finally:
            if framer.skipped:
                log.warning("mllp bytes outside frames skipped", extra=ids(component="mllp", count=framer.skipped))
            if task is not None:
                self.connections.discard(task)
            writer.close()

    async def close(self) -> None:
        tasks = list(self.connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _merge(mapping_errors: tuple[Hl7MappingError, ...], contract_errors: list[Hl7Error]) -> list[Hl7Error]:
    """Mapping errors, then the contract errors they do not already explain.

    A field that failed mapping is left out of its event, so the contract reports it missing:
    that echo (same segment, occurrence and field, or anything in a segment that is missing
    altogether) is dropped, and only independent contract errors are added."""
    out = [err.as_error() for err in mapping_errors]
    taken = {err.location for err in mapping_errors}
    whole = {(err.segment, err.sequence) for err in mapping_errors if err.field is None}
    for err in contract_errors:
        loc: Hl7Location | None = err.location
        if loc is not None and (loc in taken or (loc.segment, loc.sequence) in whole):
            continue
        out.append(err)
    return out


def _validate(mapping: DftMapping) -> tuple[list[BaseModel], list[Hl7Error]]:
    """Every event checked, every error reported: the sender fixes the message in one round."""
    models: list[BaseModel] = []
    errors: list[Hl7Error] = []
    for index, event in enumerate(mapping.events):
        try:
            models.append(validate(event.type, event.data))
        except ContractError as exc:
            for error in exc.errors:
                err = contract_error(mapping, index, error)
                # A bad MSH-3 or PV1-19 breaks every event alike: say so once.
                if err not in errors:
                    errors.append(err)
    return models, errors
