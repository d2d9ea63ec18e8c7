"""The Ansible layer's static checks: ansible-lint (production profile), syntax of every inventory, collection pins."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from tests.e2e.ansible_hosts.throwaway import ANSIBLE_DIR, PLAYBOOK, VENV_BIN

pytestmark = pytest.mark.e2e

INVENTORIES = sorted(p.name for p in (ANSIBLE_DIR / "inventories").iterdir() if p.is_dir())


def _run(*command: str, cwd: object = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "NO_COLOR": "1",
        "ANSIBLE_NOCOLOR": "1",
    }
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)


def test_ansible_lint_production_profile_reports_nothing() -> None:
    done = _run(str(VENV_BIN / "ansible-lint"), cwd=ANSIBLE_DIR)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failure(s), 0 warning(s)" in done.stdout + done.stderr
    assert "Profile 'production' was required, and it passed" in done.stdout + done.stderr


def test_lint_config_skips_no_rule() -> None:
    config = yaml.safe_load((ANSIBLE_DIR / ".ansible-lint").read_text())
    assert config["profile"] == "production"
    assert not {"skip_list", "warn_list", "enable_list"} & set(config), config


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_playbook_syntax_check_passes_with_each_inventory(inventory: str) -> None:
    done = _run(
        str(VENV_BIN / "ansible-playbook"),
        "--syntax-check",
        str(PLAYBOOK),
        "-i",
        str(ANSIBLE_DIR / "inventories" / inventory),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_installed_collections_are_the_pinned_versions() -> None:
    """requirements.yml pins what the `ansible` package from PyPI (requirements/dev.lock) bundles."""
    pinned = {
        c["name"]: c["version"] for c in yaml.safe_load((ANSIBLE_DIR / "requirements.yml").read_text())["collections"]
    }
    done = _run(str(VENV_BIN / "ansible-galaxy"), "collection", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    installed = {name: info["version"] for path in json.loads(done.stdout).values() for name, info in path.items()}
    assert {name: installed.get(name) for name in pinned} == pinned
