"""--previous-release's export step: a release directory as given, a git ref exported with `git archive` (no Docker)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from multidb.rehearsal.errors import RehearsalError
from multidb.rehearsal.previous import release_tree

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")


def git(repo: Path, *args: str) -> None:
    identity = ("-c", "user.name=rehearsal test", "-c", "user.email=rehearsal@example.invalid")
    subprocess.run([str(GIT), "-C", str(repo), *identity, *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose tag `deployed` has the old app/manage.py; its working tree has a newer one."""
    repo = tmp_path / "checkout"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "manage.py").write_text("# deployed release\n")
    (repo / "README").write_text("not part of a release\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "deployed")
    git(repo, "tag", "deployed")
    (repo / "app" / "manage.py").write_text("# next release\n")
    git(repo, "commit", "-q", "-am", "next")
    return repo


def test_a_git_ref_is_exported_as_of_that_ref_and_removed_afterwards(repo: Path) -> None:
    with release_tree(repo, "deployed") as tree:
        assert tree != repo
        assert (tree / "app" / "manage.py").read_text() == "# deployed release\n"
        assert not (tree / "README").exists()  # only app/ is exported
    assert not tree.exists()


def test_a_release_directory_is_used_as_it_is(repo: Path) -> None:
    with release_tree(Path("/nonexistent"), str(repo)) as tree:
        assert tree == repo


def test_an_unknown_ref_is_refused_naming_it_and_what_was_expected(repo: Path) -> None:
    with pytest.raises(RehearsalError) as refused, release_tree(repo, "no-such-ref"):
        pass
    message = str(refused.value)
    assert message.startswith("--previous-release no-such-ref: neither a release directory (with app/manage.py)")
    assert f"nor a git ref of {repo}" in message and "\n" not in message
