"""The official-image derived build (compose/images/postgres-pgbackrest) adds what the air-gapped image has for backups.

Static: the official postgres:15 cannot be pulled on a machine without a registry, so the derived
Dockerfile is compared with the local one (compose/images/postgres) rather than built here.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from compose_databases import Server, pgbackrest_environment

ROOT = Path(__file__).resolve().parents[2]
DERIVED = ROOT / "compose" / "images" / "postgres-pgbackrest" / "Dockerfile"
LOCAL = ROOT / "compose" / "images" / "postgres" / "Dockerfile"
POSTGRES_ITSELF = {"postgresql-common", "gosu", "postgresql-${PG_MAJOR}"}  # what the official image has already


def _commands(dockerfile: Path) -> list[list[str]]:
    """The shell commands of the RUN instructions, split on `;` and `&&`, as words."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    runs = [line[4:] for line in text.splitlines() if line.startswith("RUN ")]
    return [shlex.split(part) for run in runs for part in re.split(r";|&&", run) if part.strip()]


def _installed(dockerfile: Path) -> set[str]:
    packages: set[str] = set()
    for words in _commands(dockerfile):
        if words[:2] == ["apt-get", "install"]:
            values = {index + 1 for index, word in enumerate(words) if word == "-t"}  # -t's argument
            packages |= {w for i, w in enumerate(words[2:], 2) if not w.startswith("-") and i not in values}
    return packages


def _backup_directories(dockerfile: Path) -> set[tuple[str, ...]]:
    """Each `install -d` of a pgBackRest directory: its options and paths."""
    return {
        tuple(words) for words in _commands(dockerfile) if words[:2] == ["install", "-d"] and "pgbackrest" in str(words)
    }


def test_the_derived_image_installs_the_packages_the_local_one_adds_for_backups() -> None:
    assert _installed(DERIVED) == _installed(LOCAL) - POSTGRES_ITSELF == {"pgbackrest", "lz4"}


def test_the_derived_image_takes_pgbackrest_from_its_debian_release_not_apt_postgresql_org() -> None:
    install = next(words for words in _commands(DERIVED) if words[:2] == ["apt-get", "install"])
    assert install[install.index("-t") + 1] == "$release"
    assert 'release=$(. /etc/os-release && echo "$VERSION_CODENAME")' in DERIVED.read_text()


def test_both_images_make_the_same_pgbackrest_directories_and_check_the_binary() -> None:
    directories = _backup_directories(DERIVED)
    assert directories == _backup_directories(LOCAL)
    (words,) = directories
    assert words[:8] == ("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "750")
    repository = pgbackrest_environment(Server("a", "db-a", "a", ("U", "P")))["PGBACKREST_REPO1_PATH"]
    lock = "/tmp/pgbackrest"  # noqa: S108 (pgBackRest's lock path in the image, not a temporary file here)
    assert {repository, lock} <= set(words[8:])  # the stack's repository and the lock path
    for dockerfile in (DERIVED, LOCAL):
        assert ["pgbackrest", "version"] in _commands(dockerfile)


def test_the_derived_image_is_built_on_the_official_image_ensure_images_picks() -> None:
    official = re.search(r"OFFICIAL_POSTGRES=(\S+)", (ROOT / "scripts" / "ensure-images.sh").read_text())
    assert official
    assert f"ARG BASE_IMAGE={official.group(1)}" in DERIVED.read_text()
