"""rehearse.yml's rehearsal step keeps the read-only role's password off every command line (role rehearsal)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.ansible_hosts.throwaway import ANSIBLE_DIR, VENV_BIN

pytestmark = pytest.mark.e2e

PASSWORD = "rehearsal-pw-that-must-stay-off-command-lines"
PLAYBOOK = """---
- name: The rehearsal step of rehearse.yml, on the controller, against a stand-in for rehearse_migrations
  hosts: localhost
  gather_facts: false
  roles:
    - role: rehearsal
      vars:
        rehearsal_databases: {default: {host: db-main, name: main}}
        rehearsal_reader_password: "%(password)s"
        rehearsal_prepare: false
        rehearsal_source_dir: "%(source)s"
        rehearsal_fetch_dir: "%(fetch)s"
"""
# Stands in for .venv/bin/python manage.py rehearse_migrations: writes the report, records what it was given.
STAND_IN = """#!/bin/sh
out=""; prev=""
for arg; do [ "$prev" = "--output" ] && out="$arg"; prev="$arg"; done
mkdir -p "$out" && echo "# report" > "$out/report.md" && echo "{}" > "$out/report.json"
env > "%(spy)s/environment"
cat "$REHEARSAL_READER_PASSWORD_FILE" > "%(spy)s/password"
stat -c %%a "$REHEARSAL_READER_PASSWORD_FILE" "$DJANGO_SECRET_KEY_FILE" > "%(spy)s/modes"
echo '{"aliases": {}, "source_unchanged": true}'
"""


def test_the_rehearsal_gets_its_password_from_a_private_file_never_a_command_line(tmp_path: Path) -> None:
    """At -vvv Ansible prints every command it runs: the password is in none; the command reads it from a 0600 file."""
    source, spy, fetch = tmp_path / "source", tmp_path / "spy", tmp_path / "fetch"
    (source / ".venv" / "bin").mkdir(parents=True)
    (source / "app").mkdir()
    spy.mkdir()
    python = source / ".venv" / "bin" / "python"
    python.write_text(STAND_IN % {"spy": spy})
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    playbook = tmp_path / "rehearse.yml"
    playbook.write_text(PLAYBOOK % {"password": PASSWORD, "source": source, "fetch": fetch})
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_ROLES_PATH": str(ANSIBLE_DIR / "roles")}  # fmt: skip
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-vvv", "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "EXEC /bin/sh -c" in output  # -vvv shows the command lines
    assert PASSWORD not in output
    assert (spy / "password").read_text() == PASSWORD
    assert PASSWORD not in (spy / "environment").read_text()
    assert (spy / "modes").read_text().split() == ["600", "600"]
    assert not list((source / "build" / "rehearsals").glob("*-reader-password")), "the secret files stayed"
