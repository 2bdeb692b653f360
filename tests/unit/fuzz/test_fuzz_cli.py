"""Fuzzing the `rcm` commands that read a file (issue 16): mutated and random files through
typer's CliRunner. A bad file exits non-zero with a specific error on stderr and no traceback;
a good one exits 0. The database and broker steps are stubbed: what is fuzzed is everything the
command does with the file before them (a valid file reaches the stub)."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import codesets as codesets_cli
from cli import topics as topics_cli
from cli.main import app as rcm
from services.charges import commands as charges_commands
from services.claims import commands as claims_commands
from tests.unit.edi import samples
from tests.unit.fuzz.test_fuzz_kafka_intake import example_of
from tests.unit.fuzz.x12_mutations import fixture

CASES = 60
ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "deploy" / "local"
runner = CliRunner()


@dataclass(frozen=True)
class Command:
    argv: Callable[[Path], list[str]]
    file_name: str
    sample: str


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


_CHARGE = json.dumps({"type": "rcm.intake.ChargeSubmitted.v1", "data": example_of("rcm.intake.ChargeSubmitted.v1")})
COMMANDS: dict[str, Command] = {
    "publish": Command(lambda f: ["publish", "rcm.intake.charges.v1", str(f), "--dry-run"], "charge.json", _CHARGE),
    "chargemaster": Command(lambda f: ["chargemaster", "load", str(f)], "chargemaster.csv",
                            _text(DATA / "chargemaster.csv")),
    "payers": Command(lambda f: ["payers", "load", str(f)], "payers.yaml", _text(DATA / "payers.yaml")),
    "feeschedule": Command(lambda f: ["feeschedule", "load", "60054", str(f)], "aetna.csv",
                           _text(DATA / "fee_schedules" / "aetna_2026.csv")),
    "ncci": Command(lambda f: ["codesets", "load", "ncci", str(f)], "ccipra_v323r0_f1.txt",
                    "Column 1\tColumn 2\t*\tEffective Date\tDeletion Date\tModifier\tRationale\n"
                    "80053\t80048\t\t20260101\t*\t0\tMisuse of column two code with column one code\n"),
    "mue": Command(lambda f: ["codesets", "load", "mue", str(f)], "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
                   "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n"
                   "99213,1,3 Date of Service Edit: Clinical,Nature of Service/Procedure\n"),
    "icd10cm": Command(lambda f: ["codesets", "load", "icd10cm", str(f)], "icd10cm_codes_2027.txt",
                       "J020    Streptococcal pharyngitis\nR509    Fever, unspecified\n"),
    "x12-parse": Command(lambda f: ["x12", "parse", str(f)], "remit.835", fixture("lfh-835-managed-care.835")),
    "x12-validate": Command(lambda f: ["x12", "validate", str(f), "--no-pyx12"], "ack.999",
                            fixture("ims-999-rejected.999")),
    "x12-render": Command(lambda f: ["x12", "render-837", str(f)], "claims.json",
                          samples.batch(samples.claim()).model_dump_json()),
    "topics": Command(lambda f: ["topics", "apply", "--dry-run", "--file", str(f)], "topics.yaml",
                      _text(ROOT / "deploy" / "topics.yaml")),
}


def with_huge_line(sample: str) -> bytes:
    """Found by this fuzzer: a cell over the CSV reader's 131,072-character limit ended
    `rcm chargemaster load`, `rcm feeschedule load`, `rcm codesets load ncci|mue` (and the fee
    schedules of `rcm payers load`) in a csv.Error traceback."""
    lines = sample.splitlines(keepends=True)
    return "".join([*lines[:3], "9" * 200_000 + "\n", *lines[3:]]).encode()


@st.composite
def contents(draw: st.DrawFn, sample: str) -> bytes:
    """The sample file with a few line-level mutations, or something that is not it at all."""
    kind = draw(st.sampled_from(["mutated"] * 6 + ["empty", "bytes", "text", "bom", "huge_line"]))
    if kind == "empty":
        return draw(st.sampled_from([b"", b"\n", b"   ", b"\xef\xbb\xbf"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200)).encode("utf-8", errors="surrogatepass")
    if kind == "bom":
        return b"\xef\xbb\xbf" + sample.encode()
    lines = sample.splitlines(keepends=True)
    if kind == "huge_line":
        return with_huge_line(sample)
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = rnd.randrange(len(lines))
        op = draw(st.sampled_from(["drop", "double", "garble", "truncate", "delimiters", "splice"]))
        if op == "drop":
            del lines[i]
        elif op == "double":
            lines.insert(i, lines[i])
        elif op == "garble":
            at = rnd.randrange(len(lines[i]) + 1)
            noise = draw(st.text(alphabet=",\t\"'{}[]:*~|^ -.0123456789abcXYZé\x00", max_size=12))
            lines[i] = lines[i][:at] + noise + lines[i][at:]
        elif op == "truncate":
            joined = "".join(lines)
            lines = [joined[: rnd.randrange(len(joined) + 1)]]
        elif op == "delimiters":
            lines[i] = lines[i].replace(draw(st.sampled_from([",", "\t", ":", "*", '"'])),
                                        draw(st.sampled_from([";", "", ",", "\t", '"'])))
        else:
            at = rnd.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + draw(st.text(max_size=6)) + lines[i][at:]
    data = "".join(lines).encode("utf-8", errors="surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = data.replace(b"\n", b"\r\n")
    return data


@pytest.fixture(scope="module")
def stubbed() -> Iterator[list[str]]:
    """The database steps replaced: each records that a valid file reached it."""
    reached: list[str] = []

    def stub(*args: Any, **_: Any) -> int:
        for arg in args:
            if hasattr(arg, "close"):
                arg.close()  # the coroutine that would have run against the database
        reached.append("db")
        return 1

    async def no_broker(*_: Any, **__: Any) -> list[Any]:
        reached.append("kafka")
        return []

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(topics_cli, "reconcile", no_broker)
        mp.setattr(charges_commands, "run_command", stub)
        mp.setattr(claims_commands, "_run", stub)
        mp.setattr(claims_commands, "load_code_set", stub)
        mp.setattr(codesets_cli, "write_edition", stub)
        yield reached


def check(result: Any) -> None:
    """Exit 0, or non-zero with a specific error on stderr; never a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    if result.exit_code == 0:
        return
    assert result.exit_code in (1, 2), result.exit_code
    # `rcm x12 validate` lists a file's findings on stdout and exits 1: that is its report.
    said = result.stderr if result.stderr.strip() else result.stdout if result.exit_code == 1 else ""
    assert said.strip(), "a refusal says why"


def _fuzzer(name: str) -> Callable[..., None]:
    command = COMMANDS[name]

    @settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @example(raw=with_huge_line(command.sample))
    @given(raw=contents(command.sample))
    def fuzz(tmp_path: Path, stubbed: list[str], raw: bytes) -> None:
        file = tmp_path / command.file_name
        file.write_bytes(raw)
        if name == "payers":  # the payer master names its fee schedules relative to itself
            shutil.copytree(DATA / "fee_schedules", tmp_path / "fee_schedules", dirs_exist_ok=True)
        check(runner.invoke(rcm, command.argv(file)))

    return fuzz


test_fuzz_cli_publish = _fuzzer("publish")
test_fuzz_cli_chargemaster = _fuzzer("chargemaster")
test_fuzz_cli_payers = _fuzzer("payers")
test_fuzz_cli_feeschedule = _fuzzer("feeschedule")
test_fuzz_cli_ncci = _fuzzer("ncci")
test_fuzz_cli_mue = _fuzzer("mue")
test_fuzz_cli_icd10cm = _fuzzer("icd10cm")
test_fuzz_cli_x12_parse = _fuzzer("x12-parse")
test_fuzz_cli_x12_validate = _fuzzer("x12-validate")
test_fuzz_cli_x12_render = _fuzzer("x12-render")
test_fuzz_cli_topics = _fuzzer("topics")
