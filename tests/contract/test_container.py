"""The container files: the Dockerfile, .dockerignore and compose.yaml, read the way Docker reads
them. No container engine runs where these tests run, so the image is not built here; what can be
run without one is run: the HEALTHCHECK's own command against a real `serve` endpoint."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bot.times import FrozenClock
from tests.harness import Harness
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, …
    args: str  # as written, continuation lines joined

    def exec_form(self) -> list[str]:
        """The arguments of an exec-form instruction (``["a", "b"]``)."""
        words = json.loads(self.args)
        assert isinstance(words, list) and all(isinstance(w, str) for w in words), self.args
        return words


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.image}"
        return found[-1]


def dockerfile_stages(text: str) -> list[Stage]:
    """The Dockerfile's build stages, as Docker's parser sees them: comment lines dropped (also
    inside a continued instruction), lines ending in a backslash joined to the next, and every
    FROM starting a stage."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued instruction"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip())
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(instruction)
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages((ROOT / "Dockerfile").read_text())


def test_the_image_is_built_in_stages_on_the_slim_python_of_python_version(
    stages: list[Stage],
) -> None:
    """A build stage and a final stage, both on the slim Debian image of the Python that Heroku
    runs (.python-version); the final stage takes only the built environment from the first."""
    python = (ROOT / ".python-version").read_text().strip()
    assert len(stages) >= 2
    build, final = stages[0], stages[-1]
    assert build.name
    for stage in stages:
        assert re.fullmatch(rf"python:{re.escape(python)}-slim(-[a-z]+)?", stage.image), stage.image
    assert final.image == build.image
    copied = [i.args for i in final.all("COPY")]
    assert copied and all(args.startswith(f"--from={build.name} ") for args in copied)


def test_the_build_installs_exactly_the_locked_dependencies_then_the_bot(
    stages: list[Stage],
) -> None:
    """requirements.txt is copied and installed as it is (every package named, so --no-deps);
    the bot is installed afterwards from its own sources, without resolving anything else."""
    build = stages[0]
    steps = [(i.keyword, i.args) for i in build.instructions if i.keyword in ("COPY", "RUN")]
    lock_copied = next(
        n for n, (k, a) in enumerate(steps) if k == "COPY" and "requirements.txt" in a
    )
    install_lock = next(
        n for n, (k, a) in enumerate(steps) if k == "RUN" and "--requirement" in a.split()
    )
    sources = next(n for n, (k, a) in enumerate(steps) if k == "COPY" and a.startswith("bot "))
    install_bot = next(
        n for n, (k, a) in enumerate(steps) if k == "RUN" and re.search(r"install --no-deps \.", a)
    )
    assert lock_copied < install_lock < sources < install_bot
    lock_run = shlex.split(steps[install_lock][1])
    assert "requirements.txt" in lock_run and "--no-deps" in lock_run
    # What that RUN installs is requirements.txt without its `.` line, the bot itself.
    filtered = subprocess.run(
        ["grep", "-v", "^\\.$", "requirements.txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    pins = [line for line in filtered if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    assert "." not in filtered
    for keyword, args in steps:
        if keyword == "COPY":
            for source in shlex.split(args)[:-1]:
                assert (ROOT / source).exists(), source


def test_the_image_runs_the_command_line_as_an_unprivileged_user(stages: list[Stage]) -> None:
    """The final stage switches to a numeric non-root user it creates, and its entry point is the
    cartrover-bot command (serve by default)."""
    final = stages[-1]
    user = final.last("USER").args
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, user
    assert not gid or (gid.isdigit() and int(gid) != 0), user
    created = " ".join(i.args for i in final.all("RUN"))
    assert f"--uid {uid}" in created and "useradd" in created
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert final.last("ENTRYPOINT").exec_form() == ["cartrover-bot"]
    assert "cartrover-bot" in scripts
    assert final.last("CMD").exec_form() == ["serve"]
    instructions = [i.keyword for i in final.instructions]
    assert instructions.index("USER") > max(
        n for n, i in enumerate(final.instructions) if i.keyword in ("RUN", "COPY")
    )


def _healthcheck_command(stage: Stage) -> list[str]:
    healthcheck = stage.last("HEALTHCHECK").args
    options, _, command = healthcheck.partition("CMD ")
    assert all(option.startswith("--") for option in options.split()), options
    return json.loads(command)  # type: ignore[no-any-return]


@pytest.fixture
def harness(tmp_path: Path, clock: FrozenClock) -> Iterator[Harness]:
    h = Harness(tmp_path, clock)
    yield h
    h.close()


def test_the_healthcheck_asks_the_process_s_own_port_and_fails_when_nothing_answers(
    stages: list[Stage], harness: Harness
) -> None:
    """The HEALTHCHECK's own command, run against a real `serve` endpoint, succeeds on $PORT, and
    on $HEALTH_PORT where that is set (clock, socket); it fails where nothing answers. It asks
    /livez where the bot has one, else /healthz."""
    command = _healthcheck_command(stages[-1])
    assert command[0] == "python"
    probe = [sys.executable, *command[1:]]
    has_livez = harness.http.get(f"{harness.bot.url}/livez").status_code == 200
    assert ("/livez" if has_livez else "/healthz") in " ".join(command)
    port, nothing = harness.bot.url.rsplit(":", 1)[1], str(free_port())

    def answered(**env: str) -> bool:
        run = subprocess.run(
            probe,
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            timeout=30,
            check=False,
        )
        return run.returncode == 0

    assert answered(PORT=port)
    assert answered(PORT=nothing, HEALTH_PORT=port)
    assert not answered(PORT=nothing)
    assert not answered(PORT=port, HEALTH_PORT=nothing)


def _docker_ignores(patterns: list[str], path: str) -> bool:
    """Whether .dockerignore ``patterns`` keep ``path`` out of the build context: each pattern
    matches from the top (``*`` and ``?`` within a name, ``**`` across folders), a match on a
    folder keeps out what is inside, and a later ``!pattern`` lets a path back in."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", body):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        if re.fullmatch(rf"{regex}(?:/.*)?", path):
            ignored = not negated
    return ignored


def test_the_build_context_keeps_secrets_and_databases_out() -> None:
    """.env files and SQLite files (with their WAL), anywhere, and local environments never reach
    the build; what the Dockerfile copies does."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for path in (
        ".env",
        "bot/.env",
        ".env.production",
        "cartrover-bot.db",
        "data/bot.db-wal",
        "data/bot.db-shm",
        ".venv/bin/python",
        ".git/config",
        "bot/__pycache__/cli.cpython-311.pyc",
    ):
        assert _docker_ignores(patterns, path), path
    for path in ("bot/cli.py", "handlers/actions.py", "pyproject.toml", "requirements.txt"):
        assert not _docker_ignores(patterns, path), path
    for path in ("README.md", "LICENSE", "bot/py.typed"):
        assert not _docker_ignores(patterns, path), path


def _procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.fullmatch(r"([a-z]+): (.+)", line)
        if match:
            processes[match.group(1)] = shlex.split(match.group(2))
    return processes


def test_compose_runs_the_procfile_s_processes_on_postgres() -> None:
    """compose.yaml runs the Procfile's release step, web and clock with the same commands, from
    the image this repository builds, on its PostgreSQL; migrate finishes before the others
    start; no password is written in it."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    procfile = _procfile()
    for service, process in (("migrate", "release"), ("web", "web"), ("clock", "clock")):
        spec = services[service]
        assert ["cartrover-bot", *spec["command"]] == procfile[process], service
        assert spec["build"] == "."
        url = spec["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql://") and "@db:5432/" in url, service
        if service != "migrate":
            assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    assert services["db"]["image"].startswith("postgres:")
    assert services["clock"]["environment"]["HEALTH_PORT"]  # where its HEALTHCHECK asks
    # The password comes from the environment (.env), never from this file.
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    for service in ("migrate", "web", "clock"):
        url = services[service]["environment"]["DATABASE_URL"]
        assert re.match(r"postgresql://cartrover:\$\{POSTGRES_PASSWORD:\?[^}]*\}@db:", url), url
