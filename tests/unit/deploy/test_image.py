"""The container image (deploy/Dockerfile, /.dockerignore), checked without a Docker engine.

No image can be built on the machines the suite runs on, so these tests read the Dockerfile as
Docker would (stages, instructions, build arguments) and hold it to the deployment's rules, and
they find every file the code opens next to its source and check that the build context keeps it.
The last test runs the `rcm` command from a copy of the build context alone, as the image does.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel

from services.chassis import ports

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
SOURCE_PACKAGES = ("schemas", "edi", "services", "sandbox", "cli", "devstack")

# --- the Dockerfile, parsed ----------------------------------------------------------------


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def _logical_lines(text: str) -> list[str]:
    """Instructions with their continuation lines joined and comments dropped."""
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


def parse_dockerfile(text: str) -> list[Stage]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), words[0])
            stages.append(Stage(image, words[2] if len(words) == 3 and words[1].upper() == "AS" else None))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    parsed = parse_dockerfile(DOCKERFILE.read_text())
    assert len(parsed) >= 2, "a multi-stage build: a builder and a final stage"
    return parsed


def _exec_form(args: str) -> list[str]:
    import json

    value = json.loads(args)
    assert isinstance(value, list), f"exec form (a JSON list), not a shell string: {args}"
    return [str(v) for v in value]


def _env(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for word in shlex.split(args):
            name, _, value = word.partition("=")
            env[name] = value
    return env


PINNED = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")


def test_every_stage_starts_from_the_same_exactly_pinned_base(stages: list[Stage]) -> None:
    images = {s.image for s in stages}
    assert all(PINNED.match(i) for i in images), f"FROM must name an exact patch release: {images}"
    assert len(images) == 1, f"builder and final stage on the same base: {images}"


def test_the_final_stage_runs_rcm_as_a_numeric_non_root_user(stages: list[Stage]) -> None:
    final = stages[-1]
    users = final.all("USER")
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"a numeric, non-zero user id (Kubernetes runAsNonRoot checks it): {uid}"
    assert _exec_form(final.all("ENTRYPOINT")[-1]) == ["rcm"]
    from cli.serve import PROCESSES

    command = _exec_form(final.all("CMD")[-1])
    assert command[0] == "serve" and command[1] in PROCESSES, command


BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|cc|clang|make|build-essential|git|libpq-dev|python3-dev)\b")


def test_the_final_stage_installs_no_build_tools_and_runs_no_pip(stages: list[Stage]) -> None:
    for args in stages[-1].all("RUN"):
        assert not re.search(r"\bpip3?\s+install\b|-m\s+pip\b", args), f"pip in the final stage: {args}"
        if re.search(r"\bapt(-get)?\s+install\b", args):
            assert not BUILD_TOOLS.search(args), f"build tools in the final stage: {args}"
    # What the final stage has comes from the builder: the venv and the source, nothing else.
    copies = stages[-1].all("COPY")
    assert all(c.startswith(f"--from={stages[0].name}") for c in copies), copies
    assert {c.split()[-1] for c in copies} == {"/opt/venv", "/app"}, copies


def test_the_builder_installs_runtime_dependencies_only(stages: list[Stage]) -> None:
    installs = [a for s in stages[:-1] for a in s.all("RUN") if "pip install" in a]
    assert installs, "the builder installs the project"
    assert not any("[dev]" in a or "optional-dependencies" in a for a in installs), installs
    assert any("compileall" in a for s in stages[:-1] for a in s.all("RUN")), "bytecode compiled at build time"


def test_the_image_environment_suits_a_read_only_root_filesystem(stages: list[Stage]) -> None:
    env = _env(stages[-1])
    assert env["RCM_HTTP_HOST"] == "0.0.0.0"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    for name in ("RCM_STATE_DIR", "RCM_CACHE_DIR", "HOME"):
        assert env[name].startswith("/tmp/"), f"{name} must be under /tmp (an emptyDir): {env[name]}"
    assert env["PATH"].startswith("/opt/venv/bin:")


def test_every_exposed_port_is_a_port_of_the_platform(stages: list[Stage]) -> None:
    exposed = {int(p.split("/")[0]) for args in stages[-1].all("EXPOSE") for p in args.split()}
    assert exposed == {*ports.HTTP.values(), ports.CHARGES_MLLP, ports.MAIL_CATCHER_SMTP}


def test_parsing_joins_continuations_and_resolves_the_base_argument() -> None:
    parsed = parse_dockerfile(
        "ARG BASE=python:3.11.9-slim-bookworm\nFROM ${BASE} AS b\nRUN a \\\n  # note\n  && b\nFROM $BASE\nUSER 1\n"
    )
    assert [(s.image, s.name) for s in parsed] == [("python:3.11.9-slim-bookworm", "b"),
                                                   ("python:3.11.9-slim-bookworm", None)]
    assert parsed[0].all("RUN") == ["a  && b"]


# --- .dockerignore, as Docker reads it -------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """One .dockerignore pattern (Go filepath.Match plus `**`, anchored at the context root, as
    moby/patternmatcher reads it; not gitignore's rules, where a bare name matches at any depth)."""
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # `**/` also matches no directory at all
                out += "(.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1:end]
            out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        cleaned = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((negate, _pattern_regex(cleaned)))
    return rules


def excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """The last rule that matches the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    verdict = False
    for negate, regex in rules:
        if any(regex.match(c) for c in candidates):
            verdict = not negate
    return verdict


def test_the_dockerignore_reading_follows_dockers_rules() -> None:
    rules = dockerignore_rules("tests\n**/__pycache__\n*.egg-info\ndeploy/k8s\n!deploy/k8s/keep.yaml\n")
    assert excluded("tests/unit/x.py", rules)
    assert not excluded("services/claims/tests.py", rules)
    assert not excluded("sandbox/tests/data.csv", rules), "a bare name is anchored at the root"
    assert excluded("services/claims/__pycache__/a.pyc", rules)
    assert excluded("__pycache__/a.pyc", rules)
    assert excluded("revcycle.egg-info/PKG-INFO", rules)
    assert excluded("deploy/k8s/base/x.yaml", rules)
    assert not excluded("deploy/k8s/keep.yaml", rules)
    assert not excluded("deploy/topics.yaml", rules)


# --- the files the code reads next to its source --------------------------------------------


def _in_repo(value: object) -> Path | None:
    if isinstance(value, (str, Path)) and Path(value) == REPO:
        return REPO  # the tree's root (bench/ run by `rcm bench`, deploy/local/ by `rcm up`): the folders it names
    if isinstance(value, (str, Path)) and str(value).startswith(str(REPO) + os.sep):
        path = Path(value)
        return path if path.exists() else None
    return None


def runtime_data_paths() -> dict[Path, str]:
    """Every path under the repository a module names through `Path(__file__)` or
    `resources.files(__package__)`, found by importing each such module: its module-level paths
    and its settings classes' defaults; a data folder read through importlib.resources."""
    found: dict[Path, str] = {}
    for package in SOURCE_PACKAGES:
        for source in sorted((REPO / package).rglob("*.py")):
            text = source.read_text(encoding="utf-8")
            if "Path(__file__)" not in text and "resources.files(" not in text:
                continue
            dotted = ".".join(source.relative_to(REPO).with_suffix("").parts)
            module = importlib.import_module(dotted)
            hits: set[Path] = set()
            for name, value in vars(module).items():
                if name.startswith("__"):
                    continue  # __file__: the module itself
                defaults: list[object] = [value]
                if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == dotted:
                    defaults = [f.default for f in value.model_fields.values()]
                elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                    defaults = [getattr(value, f.name) for f in dataclasses.fields(value)]  # DEFINITION.migrations
                for default in defaults:
                    if (path := _in_repo(default)) is not None:
                        hits.add(path)
            if "resources.files(__package__)" in text:
                hits.update(source.parent / name
                            for name in re.findall(r'resources\.files\(__package__\) / "([^"]+)"', text))
            for path in hits - {REPO}:
                found.setdefault(path, dotted)
            assert hits, (
                f"{dotted} reads a file next to its source that this test cannot see: name it at module level"
            )
    return found


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def test_every_file_the_code_reads_at_run_time_is_in_the_build_context() -> None:
    paths = runtime_data_paths()
    rel = {p.relative_to(REPO).as_posix() for p in paths}
    # The ones the deployment depends on, named so that losing the search fails here.
    for expected in ("deploy/topics.yaml", "deploy/local/hl7.yaml", "deploy/local/payers.yaml",
                     "services/chassis/migrations", "services/claims/migrations",
                     "services/remits/domain/data/carc_rarc_2026.csv", "services/charges/domain/data"):
        assert expected in rel, f"{expected} not found among {sorted(rel)}"
    rules = dockerignore_rules(DOCKERIGNORE.read_text())
    missing = [f.relative_to(REPO).as_posix() for p in paths for f in _files(p)
               if excluded(f.relative_to(REPO).as_posix(), rules)]
    assert not missing, f".dockerignore drops files the code reads at run time: {missing}"
    # The whole source tree goes to /app in the builder and from there to the final stage.
    builder, final = parse_dockerfile(DOCKERFILE.read_text())[0], parse_dockerfile(DOCKERFILE.read_text())[-1]
    assert ". /app" in builder.all("COPY")
    assert f"--from={builder.name} /app /app" in final.all("COPY")


def _context_copy(target: Path) -> None:
    """The build context as Docker would send it: the repository minus what .dockerignore drops
    (tracked and untracked files alike, the way `docker build` sees the folder)."""
    text = DOCKERIGNORE.read_text()
    rules = dockerignore_rules(text)
    # An excluded folder is skipped whole (the .venv alone holds tens of thousands of files); only
    # a `!` rule could bring part of it back, and this file has none.
    assert not any(line.strip().startswith("!") for line in text.splitlines())
    for folder, dirs, files in os.walk(REPO):
        base = Path(folder).relative_to(REPO)
        dirs[:] = [d for d in dirs if not excluded((base / d).as_posix(), rules)]
        for name in files:
            rel = (base / name).as_posix()
            if not excluded(rel, rules):
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes((REPO / rel).read_bytes())


def test_rcm_runs_from_the_build_context_alone(tmp_path: Path) -> None:
    """What the image's final stage has (the context at /app, on the import path) is enough: the
    commands load, and the files they read resolve inside the copy and exist."""
    app = tmp_path / "app"
    _context_copy(app)
    assert not (app / "tests").exists() and not (app / ".venv").exists()
    # A few modules only: the copy has no bytecode, so each import compiles (seconds on a busy machine).
    script = (
        "import json\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        "import services.chassis.topics as t, services.charges.hl7.mllp as m, services.remits.domain.codes as c\n"
        "import services.chassis.migrations as g\n"
        "t.load_catalog(); m.load_defaults(); c.TABLE.read_text()\n"
        "out = {'catalog': str(t.CATALOG), 'mllp': str(m.DEFAULTS_PATH), 'codes': str(c.TABLE),\n"
        "       'migrations': str(next(g.CHASSIS_MIGRATIONS.glob('*.sql'))),\n"
        "       'help': [CliRunner().invoke(app, [cmd, '--help']).exit_code for cmd in ('serve', 'migrate')]}\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCM_")}
    env.update(PYTHONPATH=str(app), PYTHONDONTWRITEBYTECODE="1", RCM_STATE_DIR=str(tmp_path / "state"))
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["help"] == [0, 0]
    for key in ("catalog", "mllp", "codes", "migrations"):
        assert out[key].startswith(str(app) + os.sep) and Path(out[key]).is_file(), out


def locked_versions(text: str) -> dict[str, str]:
    """The lock file's `name==version` pins, names normalised (PEP 503)."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", text, re.M)
    return {canonicalize_name(name): version for name, version in pins}


def test_the_lock_pins_every_runtime_dependency_within_its_range_with_hashes() -> None:
    """A dependency added to pyproject.toml (or a range moved past the pinned version) without
    compiling the lock again would be missing from the image, or a version the code was never run
    with: the lock's header says how to compile it."""
    lock = (REPO / "deploy" / "requirements.lock").read_text()
    pinned = locked_versions(lock)
    wanted = [Requirement(r) for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]]
    missing = [str(r) for r in wanted if canonicalize_name(r.name) not in pinned]
    outside = [f"{r} (locked {pinned[canonicalize_name(r.name)]})" for r in wanted
               if canonicalize_name(r.name) in pinned and pinned[canonicalize_name(r.name)] not in r.specifier]
    assert (missing, outside) == ([], [])
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n\n", 1)[1].strip())
    assert len(blocks) == len(pinned) and all("--hash=sha256:" in b for b in blocks)
    assert "--find-links" not in lock and "--index-url" not in lock  # a machine's own pip settings


def test_the_lock_reader_normalises_names_and_sees_a_version_out_of_range() -> None:
    pins = locked_versions("Typing_Extensions==4.12.2 \\\n    --hash=sha256:00\nrich==13.0.0 \\\n")
    assert pins == {"typing-extensions": "4.12.2", "rich": "13.0.0"}
    assert pins["rich"] not in Requirement("rich>=13.7").specifier
