"""ansible/lint_topology.py: an inventory that disagrees with its config fails; the recipe's new database passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.ansible_hosts.throwaway import ANSIBLE_DIR, REPO, VENV_BIN, lint_topology

pytestmark = pytest.mark.e2e

INVENTORIES = sorted(p for p in (ANSIBLE_DIR / "inventories").iterdir() if p.is_dir())
ANALYTICS_ENTRY = """  analytics:                    # the recipe's new alias and app
    engine: postgresql
    name: ${ANALYTICS_DB_NAME:-analytics}
    user: ${ANALYTICS_DB_USER}
    password: ${ANALYTICS_DB_PASSWORD}
    host: ${ANALYTICS_DB_HOST}
    port: ${ANALYTICS_DB_PORT:-5432}
    options:
      connect_timeout: 5
    apps: [analytics]
    operations: [read, write, migrate]

"""
RENDER_STANZAS = """---
- name: Render the repository host's pgbackrest.conf as deploy.yml would, on the controller
  hosts: backup
  gather_facts: false
  vars_files: [roles/pgbackrest/defaults/main.yml]
  tasks:
    - name: Write the repository host's pgbackrest.conf
      ansible.builtin.template:
        src: roles/pgbackrest/templates/repository.conf.j2
        dest: "{{ render_dest }}"
        mode: "0644"
      vars:
        __pgbackrest_pg_path: /var/lib/postgresql/15/main
      delegate_to: localhost
"""
RENDER_TIMEOUTS = """---
- name: The runtime role's timeouts as role postgres gets them, on the controller
  hosts: databases
  gather_facts: false
  tasks:
    - name: Write them
      ansible.builtin.copy:
        content: "{{ [postgres_runtime_statement_timeout, postgres_runtime_idle_in_transaction_timeout] | to_json }}"
        dest: "{{ render_dest }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
"""
RENDER_PLAYBOOK = """---
- name: Render the app's config as deploy.yml would, on the controller
  hosts: app
  gather_facts: false
  tasks:
    - name: Write app_databases
      ansible.builtin.copy:
        content: "{{ app_databases | to_json }}"
        dest: "{{ render_dest }}"
        mode: "0644"
      delegate_to: localhost
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of ansible/ and config/, the two sides the lint compares."""
    for folder in ("ansible", "config"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def lint(repo: Path, inventory: str = "test") -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(repo / "ansible" / "lint_topology.py"),
        str(repo / "ansible" / "inventories" / inventory),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def add_a_database(repo: Path) -> None:
    """The recipe, Ansible side: one entry in the config, one host in hosts.yml, its passwords in the vault."""
    edit(repo / "config" / "staging.yaml", "\nhealth:", f"{ANALYTICS_ENTRY}health:")
    edit(
        repo / "ansible" / "inventories" / "test" / "hosts.yml",
        "            db-shop-2:\n              multidb_alias: shop_db\n",
        "            db-shop-2:\n              multidb_alias: shop_db\n"
        "            db-analytics:\n              multidb_alias: analytics\n",
    )
    vault = repo / "ansible" / "inventories" / "test" / "group_vars" / "all" / "vault.yml"
    vault.write_text(vault.read_text() + "  analytics: {owner: test-analytics-owner-pw, user: test-analytics-app-pw}\n")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r} is not there exactly once"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("inventory", INVENTORIES, ids=lambda p: p.name)
def test_every_shipped_inventory_agrees_with_its_config(inventory: Path) -> None:
    done = lint(REPO, inventory.name)
    assert done.returncode == 0, done.stderr
    assert f"ansible/inventories/{inventory.name}: agrees with its config" in done.stdout


def _unknown_alias(repo: Path) -> None:
    hosts = repo / "ansible/inventories/test/hosts.yml"
    hosts.write_text(hosts.read_text().replace("multidb_alias: shop_db", "multidb_alias: shop"))


def _cluster_without_etcd(repo: Path) -> None:
    edit(repo / "ansible/inventories/test/hosts.yml", "            db-shop:\n        app:", "        app:")
    hosts = repo / "ansible/inventories/test/hosts.yml"
    hosts.write_text(
        hosts.read_text().replace("            db-main:\n            db-blog:\n        app:", "        app:")
    )


def _cluster_without_patroni_passwords(repo: Path) -> None:
    vault = repo / "ansible/inventories/test/group_vars/all/vault.yml"
    vault.write_text(vault.read_text().replace("  superuser: test-patroni-superuser-pw\n", ""))


def _alias_without_host(repo: Path) -> None:
    edit(repo / "config/staging.yaml", "\nhealth:", f"{ANALYTICS_ENTRY}health:")


def _vault_without_alias(repo: Path) -> None:
    edit(repo / "ansible/inventories/test/group_vars/all/vault.yml", "  shop_db:", "  shop:")


def _restated_topology(repo: Path) -> None:
    edit(
        repo / "ansible/inventories/test/group_vars/all/databases.yml",
        'multidb_databases: "{{ multidb_topology }}"',
        "multidb_databases:\n  default: {host: db-main, name: main, owner: main_owner, user: main_app}",
    )


def _restated_environment(repo: Path) -> None:
    path = repo / "ansible/inventories/test/group_vars/app.yml"
    path.write_text(path.read_text() + "app_environment: production\n")


def _replica(repo: Path) -> None:
    replica = ANALYTICS_ENTRY.replace("analytics", "blog_replica", 1).replace("[read, write, migrate]", "[read]")
    edit(repo / "config/staging.yaml", "\nhealth:", f"{replica}health:")
    edit(
        repo / "ansible/inventories/test/hosts.yml",
        "            db-shop-2:\n              multidb_alias: shop_db\n",
        "            db-shop-2:\n              multidb_alias: shop_db\n"
        "            db-replica:\n              multidb_alias: blog_replica\n",
    )
    path = repo / "ansible/inventories/test/group_vars/all/vault.yml"
    path.write_text(path.read_text() + "  blog_replica: {owner: a, user: b}\n")


def _no_repository_host(repo: Path) -> None:
    edit(repo / "ansible/inventories/test/hosts.yml", "            backup-1:\n", "")


def _not_yaml(repo: Path) -> None:
    hosts = repo / "ansible/inventories/test/hosts.yml"
    edit(hosts, "              multidb_alias: blog_db", "  multidb_alias: blog_db")


def _name_unknown_to_ansible(repo: Path) -> None:
    edit(repo / "config/staging.yaml", "name: ${SHOP_DB_NAME:-shop}", "name: ${SHOP_DB_NAME}")


def _timeout_not_a_number(repo: Path) -> None:
    edit(repo / "config/staging.yaml", "    apps: [shop]\n", "    apps: [shop]\n    timeouts: {statement: soon}\n")


@pytest.mark.parametrize(
    ("break_it", "named"),
    [
        (_unknown_alias, "ansible/inventories/test/hosts.yml: db-shop.multidb_alias: 'shop' is not an alias of"),
        (
            _unknown_alias,
            "needs a host with multidb_alias: shop_db (config/staging.yaml databases.shop_db; found: none)",
        ),
        (_cluster_without_etcd, "hosts.yml: etcd: shop_db on several hosts need an etcd group of 3 or 5 hosts"),
        (_cluster_without_patroni_passwords, "vault.yml: vault_multidb_patroni_passwords.superuser: missing"),
        (_alias_without_host, "multidb_alias: analytics (config/staging.yaml databases.analytics; found: none)"),
        (_alias_without_host, "vault.yml: vault_multidb_passwords.analytics: missing"),
        (_vault_without_alias, "vault.yml: vault_multidb_passwords.shop_db: missing"),
        (_vault_without_alias, "vault.yml: vault_multidb_passwords.shop: no such alias"),
        (_restated_topology, "group_vars/all/databases.yml: multidb_databases: restates the topology"),
        (_restated_environment, "group_vars/app.yml: app_environment: comes from the config file"),
        (_replica, "config/staging.yaml: databases.blog_replica.operations: [read] is a replica"),
        (_not_yaml, "ansible/inventories/test/hosts.yml: line 17: not valid YAML"),
        (_no_repository_host, "ansible/inventories/test/hosts.yml: backup: needs exactly one repository host"),
        (_name_unknown_to_ansible, "config/staging.yaml: databases.shop_db.name: ${SHOP_DB_NAME} has no default"),
        (_timeout_not_a_number, "databases.shop_db.timeouts.statement: 'soon' is not a number of milliseconds"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] or None,
)
def test_lint_fails_naming_the_key_when_the_inventory_and_its_config_disagree(
    repo: Path, break_it: Callable[[Path], None], named: str
) -> None:
    assert lint(repo).returncode == 0
    break_it(repo)
    done = lint(repo)
    assert done.returncode == 2, done.stdout + done.stderr
    assert named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_adding_a_database_by_the_recipe_passes_the_lint(repo: Path) -> None:
    add_a_database(repo)
    done = lint(repo)
    assert done.returncode == 0, done.stderr
    databases = lint_topology(repo / "ansible").derived(repo / "ansible" / "inventories" / "test")
    assert databases["analytics"] == {
        "host": "db-analytics",
        "hosts": ["db-analytics"],
        "name": "analytics",
        "port": 5432,
        "owner": "analytics_owner",
        "user": "analytics_app",
        "options": {"connect_timeout": 5},
        "apps": ["analytics"],
        "operations": ["read", "write", "migrate"],
    }


def test_deploy_derives_the_recipes_database_for_the_app_hosts(repo: Path) -> None:
    """What the app role writes to app.yaml on the hosts (app_databases), as ansible-playbook derives it."""
    add_a_database(repo)
    (repo / "ansible" / "render.yml").write_text(RENDER_PLAYBOOK)
    dest = repo / "app_databases.json"
    env = {**os.environ, "ANSIBLE_CONFIG": str(repo / "ansible" / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(repo / "ansible" / "render.yml"), "-i",
         str(repo / "ansible" / "inventories" / "test"), "-e", json.dumps({"render_dest": str(dest)})],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    databases = json.loads(dest.read_text())
    assert list(databases) == ["default", "blog_db", "shop_db", "analytics"]
    assert databases["analytics"]["host"] == "db-analytics"
    assert databases["analytics"]["owner"] == "analytics_owner"


def test_the_recipes_database_gets_a_backup_stanza_with_no_other_edit(repo: Path) -> None:
    """role pgbackrest's stanzas come from the topology: the new alias is backed up from its own host."""
    add_a_database(repo)
    (repo / "ansible" / "render.yml").write_text(RENDER_STANZAS)
    dest = repo / "pgbackrest.conf"
    env = {**os.environ, "ANSIBLE_CONFIG": str(repo / "ansible" / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(repo / "ansible" / "render.yml"), "-i",
         str(repo / "ansible" / "inventories" / "test"), "-e", json.dumps({"render_dest": str(dest)})],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    text = dest.read_text()
    assert [line for line in text.splitlines() if line.startswith("[")] == [
        "[global]", "[analytics]", "[blog_db]", "[default]", "[shop_db]"
    ]  # fmt: skip
    assert "[analytics]\npg1-host=db-analytics\npg1-host-user=postgres\n" in text
    shop = text.split("[shop_db]\n", 1)[1]  # a Patroni cluster: both members, backups from the standby
    assert shop.startswith("pg1-host=db-shop\npg1-host-user=postgres\n") and "\npg2-host=db-shop-2\n" in shop
    assert "backup-standby=y" in shop and "backup-standby" not in text.split("[shop_db]\n", 1)[0]


def test_an_alias_on_two_hosts_lists_both_for_the_app_and_asks_for_the_read_write_one(repo: Path) -> None:
    """Interface 1: every node comma-separated, target_session_attrs=read-write, a short connect_timeout."""
    databases = lint_topology(repo / "ansible").derived(repo / "ansible" / "inventories" / "test")
    assert databases["shop_db"]["host"] == "db-shop,db-shop-2"
    assert databases["shop_db"]["hosts"] == ["db-shop", "db-shop-2"]
    assert databases["shop_db"]["options"] == {"connect_timeout": 2, "target_session_attrs": "read-write"}
    assert databases["blog_db"]["options"] == {"connect_timeout": 5}


def test_runtime_role_timeouts_come_from_each_aliases_config_entry(repo: Path) -> None:
    """databases.<alias>.timeouts feeds role postgres; an alias without it gets 30000 / 60000 ms."""
    edit(repo / "config/staging.yaml", "    apps: [blog]\n", "    apps: [blog]\n    timeouts: {statement: 5000}\n")
    edit(
        repo / "config/staging.yaml",
        "    apps: [shop]\n",
        "    apps: [shop]\n    timeouts: {statement: 0, idle_in_transaction: 15000, migration_lock: 2000}\n",
    )
    (repo / "ansible" / "render.yml").write_text(RENDER_TIMEOUTS)
    env = {**os.environ, "ANSIBLE_CONFIG": str(repo / "ansible" / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(repo / "ansible" / "render.yml"), "-i",
         str(repo / "ansible" / "inventories" / "test"), "-e", json.dumps({"render_dest": str(repo)})],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    rendered = {host: json.loads((repo / f"{host}.json").read_text()) for host in ("db-main", "db-blog", "db-shop")}
    assert rendered == {"db-main": [30000, 60000], "db-blog": [5000, 60000], "db-shop": [0, 15000]}
