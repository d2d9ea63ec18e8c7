"""Lint: each Ansible inventory agrees with its environment's config file, the one description of the topology.

Usage: python ansible/lint_topology.py ansible/inventories/<env> [...]   (make lint-ansible runs it on every one)

An inventory names its config (group_vars/all: multidb_config_file) and adds only where each alias lives
(hosts.yml: a host under `databases` with multidb_alias; two or more hosts of one alias are a Patroni cluster) and
the secrets (the vault). It fails, one line per problem naming the file, the key and the fix, exit 2, when an alias
has no host, an alias on several hosts lacks what Patroni needs (an etcd group of three or five hosts, the vault's
vault_multidb_patroni_passwords), a host names an alias
the config lacks, the vault's passwords are not exactly the config's aliases, the config says something the
roles cannot deploy (a replica, a name Ansible cannot know), the inventory restates what the config says, or it
has not exactly one backup repository host (group backup).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "filter_plugins"))
from multidb_topology import TopologyError, hosts_by_alias, topology

REPO = Path(__file__).resolve().parent.parent
CONFIG_PREFIX = "{{ playbook_dir | dirname }}/"
DERIVED = "{{ multidb_topology }}"
# Set in ansible/group_vars/ from the config; an inventory that sets them restates (or is silently overridden).
FROM_CONFIG = ("app_databases", "app_environment", "app_sections", "multidb_config")
# Role patroni's own roles and its REST API: every key is needed as soon as one alias runs under Patroni.
PATRONI_PASSWORDS = ("superuser", "replication", "rewind", "rest_api")


class LintError(Exception):
    """A file the lint cannot read; the message names it and the fix."""


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: lint_topology.py INVENTORY_DIR [...]", file=sys.stderr)
        return 2
    failed = False
    for inventory in map(Path, argv):
        try:
            problems = list(lint(inventory))
        except LintError as error:
            problems = [str(error)]
        for problem in problems:
            print(problem, file=sys.stderr)
        failed = failed or bool(problems)
        if not problems:
            print(f"{_shown(inventory)}: agrees with its config")
    return 2 if failed else 0


def lint(inventory: Path) -> Iterator[str]:
    """Every disagreement between the inventory and its config, one line each."""
    group_vars = _group_vars(inventory)
    yield from _restated(group_vars)
    if "multidb_config_file" not in group_vars:
        where = f"{_shown(inventory)}/group_vars/all"
        yield f"{where}: multidb_config_file: missing; set it to {CONFIG_PREFIX}config/<env>.yaml"
        return
    config_path = _config_path(group_vars["multidb_config_file"][1])
    if not config_path.is_file():
        where = _shown(group_vars["multidb_config_file"][0])
        yield f"{where}: multidb_config_file: {_shown(config_path)} does not exist; name the environment's config"
        return
    config = _load(config_path) or {}
    placement = list(_database_hosts(_load(inventory / "hosts.yml")))
    aliases = list(config.get("databases") or {})
    misplaced = list(_placement(inventory / "hosts.yml", placement, aliases, _shown(config_path)))
    yield from misplaced
    yield from _repository(inventory / "hosts.yml")
    yield from _vault(inventory, aliases)
    clustered = sorted(alias for alias, found in hosts_by_alias(placement).items() if alias and len(found) > 1)
    if clustered:
        yield from _patroni(inventory, clustered)
    if not misplaced:  # the rest (names, ports, replicas) is the deploy's own derivation, run here as it will run
        try:
            topology(config, placement, _shown(config_path))
        except TopologyError as error:
            yield str(error)


def derived(inventory: Path) -> dict[str, Any]:
    """multidb_databases of an inventory as deploy.yml derives it (for the tests and tools)."""
    config_path = _config_path(_group_vars(inventory)["multidb_config_file"][1])
    placement = list(_database_hosts(_load(inventory / "hosts.yml")))
    return topology(_load(config_path), placement, _shown(config_path))


def inventory_hosts(inventory: Path) -> list[str]:
    """Every host of the inventory's hosts.yml, in order of appearance."""
    return list(
        dict.fromkeys(host for group in (_load(inventory / "hosts.yml") or {}).values() for host, _ in _hosts(group))
    )


def _placement(hosts_file: Path, placement: list[tuple[str, str]], aliases: list[str], source: str) -> Iterator[str]:
    """Each database host names one of the config's aliases, and each alias has a host (two or more: Patroni)."""
    shown = _shown(hosts_file)
    for host, alias in placement:
        if not alias:
            yield f"{shown}: {host}.multidb_alias: missing; name the alias it holds ({', '.join(aliases)})"
        elif alias not in aliases:
            yield (
                f"{shown}: {host}.multidb_alias: {alias!r} is not an alias of {source} "
                f"({', '.join(aliases)}); name one of them, or add databases.{alias} to {source}"
            )
    hosts = hosts_by_alias(placement)
    for alias in aliases:
        if not hosts.get(alias):
            yield (
                f"{shown}: databases: needs a host with multidb_alias: {alias} "
                f"({source} databases.{alias}; found: none); add one under databases, or remove the alias"
            )


def _repository(hosts_file: Path) -> Iterator[str]:
    """Exactly one host under the group backup: the pgBackRest repository host every database backs up into."""
    found = [host for name, group in _groups(_load(hosts_file)) if name == "backup" for host, _ in _hosts(group)]
    if len(found) != 1:
        yield (
            f"{_shown(hosts_file)}: backup: needs exactly one repository host (found: {', '.join(found) or 'none'}); "
            "add one under a group backup (role pgbackrest)"
        )


def _patroni(inventory: Path, clustered: list[str]) -> Iterator[str]:
    """Aliases on several hosts are Patroni clusters: etcd needs an odd quorum of 3+ hosts, Patroni its passwords."""
    hosts_file = inventory / "hosts.yml"
    members = [host for name, group in _groups(_load(hosts_file)) if name == "etcd" for host, _ in _hosts(group)]
    if len(members) < 3 or len(members) % 2 == 0:
        yield (
            f"{_shown(hosts_file)}: etcd: {', '.join(clustered)} on several hosts need an etcd group of 3 or 5 hosts "
            f"(found: {', '.join(members) or 'none'}); list three database hosts under a group etcd (role patroni)"
        )
    vault = _vault_file(inventory)
    if vault is None:
        return
    given = (_load(vault) or {}).get("vault_multidb_patroni_passwords")
    missing = [key for key in PATRONI_PASSWORDS if not isinstance(given, Mapping) or not given.get(key)]
    if missing:
        yield (
            f"{_shown(vault)}: vault_multidb_patroni_passwords.{missing[0]}: missing ({', '.join(clustered)} run under "
            f"Patroni); add {{{', '.join(f'{key}: ...' for key in PATRONI_PASSWORDS)}}}"
        )


def _restated(group_vars: Mapping[str, tuple[Path, Any]]) -> Iterator[str]:
    """The inventory states no topology of its own: multidb_databases is derived, the rest is not set."""
    if "multidb_databases" in group_vars:
        where, value = group_vars["multidb_databases"]
        if value != DERIVED:
            yield (
                f"{_shown(where)}: multidb_databases: restates the topology; the config file is the topology: "
                f'write multidb_databases: "{DERIVED}" and move the rest to the config'
            )
    for key in FROM_CONFIG:
        if key in group_vars:
            where, _ = group_vars[key]
            yield f"{_shown(where)}: {key}: comes from the config file (ansible/group_vars); remove it here"


def _vault(inventory: Path, aliases: list[str]) -> Iterator[str]:
    """vault_multidb_passwords has {owner, user} for exactly the config's aliases (the example when encrypted)."""
    vault = _vault_file(inventory)
    if vault is None:
        folder = _shown(inventory / "group_vars" / "all")
        yield f"{folder}: vault.yml.example: missing; list vault_multidb_passwords per alias there"
        return
    passwords = (_load(vault) or {}).get("vault_multidb_passwords") or {}
    for alias in aliases:
        entry = passwords.get(alias)
        if not isinstance(entry, Mapping) or not {"owner", "user"} <= set(entry):
            yield f"{_shown(vault)}: vault_multidb_passwords.{alias}: missing; add {{owner: ..., user: ...}}"
    for alias in passwords:
        if alias not in aliases:
            yield f"{_shown(vault)}: vault_multidb_passwords.{alias}: no such alias in the config; remove it"


def _vault_file(inventory: Path) -> Path | None:
    """The inventory's vault.yml, or its example when the vault is encrypted (or absent)."""
    folder = inventory / "group_vars" / "all"
    vault = folder / "vault.yml"
    if not vault.exists() or vault.read_text().startswith("$ANSIBLE_VAULT"):
        vault = folder / "vault.yml.example"
    return vault if vault.exists() else None


def _database_hosts(inventory: Any) -> Iterator[tuple[str, str]]:
    """(host, its multidb_alias or '') for every host under the group databases, wherever that group is."""
    for name, group in _groups(inventory):
        if name == "databases":
            yield from ((host, str((hv or {}).get("multidb_alias") or "")) for host, hv in _hosts(group))


def _groups(tree: Any) -> Iterator[tuple[str, Any]]:
    for name, group in (tree or {}).items():
        yield name, group
        yield from _groups((group or {}).get("children"))


def _hosts(group: Any) -> Iterator[tuple[str, Any]]:
    yield from ((group or {}).get("hosts") or {}).items()
    for child in ((group or {}).get("children") or {}).values():
        yield from _hosts(child)


def _group_vars(inventory: Path) -> dict[str, tuple[Path, Any]]:
    """Every variable the inventory's group_vars set -> (the file, the value)."""
    found: dict[str, tuple[Path, Any]] = {}
    for path in sorted((inventory / "group_vars").rglob("*.yml")):
        if not path.read_text().startswith("$ANSIBLE_VAULT"):
            found.update({key: (path, value) for key, value in (_load(path) or {}).items()})
    return found


def _config_path(setting: str) -> Path:
    """multidb_config_file as deploy.yml resolves it: {{ playbook_dir | dirname }} is the repository."""
    return REPO / setting.removeprefix(CONFIG_PREFIX) if setting.startswith(CONFIG_PREFIX) else Path(setting)


def _load(path: Path) -> Any:
    try:
        with path.open() as stream:
            return yaml.safe_load(stream)
    except OSError as error:
        raise LintError(f"{_shown(path)}: cannot be read ({error.strerror}); create it") from error
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else "?"
        raise LintError(f"{_shown(path)}: line {line}: not valid YAML ({error.problem}); fix the syntax") from error


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
