"""What the package says about itself: one version, the licence as an SPDX expression with its
text, the changelog, the typing marker, the supported Pythons said alike everywhere, and a lock
that covers every dependency pyproject.toml names."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import metadata, version
from pathlib import Path

from packaging.requirements import Requirement

import bot

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_is_written_once() -> None:
    """pyproject.toml takes the version from bot.__version__; the installed metadata and
    `cartrover-bot --version` say the same."""
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "bot.__version__"}
    assert version("cartrover-bot") == bot.__version__
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == f"cartrover-bot, version {bot.__version__}"
    written = re.findall(r"\d+\.\d+\.\d+", (ROOT / "bot" / "__init__.py").read_text())
    assert written == [bot.__version__]


def test_the_licence_is_an_spdx_expression_with_its_text() -> None:
    """license = "MIT" (not the deprecated table) and the LICENSE file is the MIT licence,
    shipped in the package's metadata."""
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "WITHOUT WARRANTY OF ANY KIND" in text
    assert metadata("cartrover-bot")["License-Expression"] == "MIT"


def test_the_changelog_has_an_unreleased_section_first() -> None:
    """CHANGELOG.md follows Keep a Changelog: an Unreleased section above any version, its
    groups among the six the format names."""
    text = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## (.+)$", text, flags=re.M)
    assert sections[0] == "[Unreleased]"
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## ", 1)[0]
    groups = re.findall(r"^### (.+)$", unreleased, flags=re.M)
    assert groups and set(groups) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed"} | {
        "Security"
    }


def test_both_packages_are_marked_typed_and_ship_the_marker() -> None:
    """bot and handlers carry py.typed, and the build includes it."""
    for package in ("bot", "handlers"):
        assert (ROOT / package / "py.typed").is_file()
        assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"][package]


def _supported() -> list[str]:
    classifiers = PYPROJECT["project"]["classifiers"]
    return [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]


def test_the_supported_pythons_are_the_same_everywhere() -> None:
    """The classifiers, requires-python, .ci/run's list and the README say the same versions."""
    supported = _supported()
    assert supported == ["3.11", "3.12", "3.13"]
    assert PYPROJECT["project"]["requires-python"] == f">={supported[0]}"
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"SUPPORTED=({' '.join(supported)})" in ci
    readme = (ROOT / "README.md").read_text()
    assert f"**Supported Pythons: {', '.join(supported[:-1])} and {supported[-1]}.**" in readme
    assert (ROOT / ".python-version").read_text().strip() in supported


def test_the_lock_pins_every_dependency_pyproject_names_within_its_range() -> None:
    """requirements.txt installs the bot itself (its `.` line) and pins every runtime dependency
    and the postgres extra's to one version its range allows: a dependency added to
    pyproject.toml without running .ci/lock fails here too (CI also re-resolves)."""
    lines = [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
    ]
    assert "." in lines
    pins = {}
    for line in lines:
        if line and line != ".":
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            pins[requirement.name.lower()] = spec.version
    project = PYPROJECT["project"]
    for text in [*project["dependencies"], *project["optional-dependencies"]["postgres"]]:
        wanted = Requirement(text)
        name = wanted.name.lower()
        assert name in pins, f"{name} is not in requirements.txt: run .ci/lock"
        assert wanted.specifier.contains(pins[name], prereleases=True), (name, pins[name])
