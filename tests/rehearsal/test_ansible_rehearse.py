"""ansible/rehearse.yml's rehearsal play, run on the controller (localhost) against the staging fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.integration.postgres import SERVICES
from tests.rehearsal.staging import REPO, Staging, release

ROUTING = {  # as in every shipped config and the Ansible inventories
    "default": {},
    "blog_db": {"apps": ["blog"], "operations": ["read", "write"], "migrate_to": "default"},
    "shop_db": {"apps": ["shop"], "operations": ["read", "write", "migrate"]},
}


def playbook(staging: Staging, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """ansible-playbook ansible/rehearse.yml with an inventory of only localhost: the databases play matches no
    host (the fixture's servers are containers, not hosts), the rehearsal play runs here with release v2."""
    databases = {
        alias: {
            "host": target.server.host,
            "port": target.server.port,
            "name": target.dbname,
            "owner": staging.roles[alias].owner.user,
            "options": {"connect_timeout": 5},
            **ROUTING[alias],
        }
        for alias, target in staging.readers.items()
    }
    inventory = {
        "all": {
            "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
            "vars": {
                "multidb_databases": databases,
                "multidb_rehearsal_clients": [],
                "vault_multidb_rehearsal_password": staging.readers["default"].password,
            },
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    environ = {
        **os.environ,
        **release("v2"),
        "PYTHONPATH": str(REPO),
        "ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg"),
    }
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(REPO / "ansible" / "rehearse.yml"),
            *("-i", str(tmp_path / "hosts.yml")),
            *("-e", json.dumps({"rehearsal_fetch_dir": str(tmp_path / "fetched"), "rehearsal_prepare": False})),
            *args,
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


def test_playbook_rehearses_on_the_controller_and_fetches_the_report(staging: Staging, tmp_path: Path) -> None:
    before = staging.fingerprint()
    ran = playbook(staging, tmp_path)
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    report = json.loads((tmp_path / "fetched" / "localhost" / "report.json").read_text())
    assert report["ok"] is True and report["source_unchanged"] is True
    assert [step["migration"] for step in report["aliases"]["default"]["migrations"]] == [
        "ledger.0002_entry_currency_amount_cents",
        "ledger.0003_fill_amount_cents",
    ]
    assert "default | ok | ledger.0002_entry_currency_amount_cents, ledger.0003_fill_amount_cents" in ran.stdout
    assert staging.readers["default"].password not in ran.stdout + ran.stderr
    assert staging.fingerprint() == before
    assert set(report["aliases"]) == set(SERVICES)


def test_playbook_in_check_mode_rehearses_nothing(staging: Staging, tmp_path: Path) -> None:
    ran = playbook(staging, tmp_path, "--check")
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert not (tmp_path / "fetched").exists()
