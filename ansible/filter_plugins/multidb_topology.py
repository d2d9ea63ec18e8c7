"""Filter multidb_topology: the inventory's databases, derived from the environment's config/<env>.yaml."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Where a database lives and which roles it has is the inventory's to say (hosts.yml, the vault); every other
# key of a config entry (options, apps, operations, migrate_to, conn_max_age...) goes to the hosts unchanged.
PLACED = ("engine", "host", "name", "port", "user", "password")
REFERENCE = re.compile(r"^\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}$")
DEFAULT_PORT = 5432
# The runtime role's timeouts (ms, 0 = none) when an alias's `timeouts` leaves them out: the app's own defaults.
RUNTIME_TIMEOUTS = {"statement": 30_000, "idle_in_transaction": 60_000}
MAX_MS = 2_147_483_647  # PostgreSQL's int4 milliseconds
# An alias on two or more hosts is a Patroni cluster (role patroni): the app lists every node and libpq keeps the
# one that accepts writes; a node that is down costs at most HA_CONNECT_TIMEOUT seconds before the next is tried.
HA_CONNECT_TIMEOUT = 2


class TopologyError(ValueError):
    """The config and the inventory cannot be combined; the message names the file, the key and the fix."""


def topology(config: Mapping[str, Any], placement: Iterable[Iterable[str]], source: str = "config") -> dict[str, Any]:
    """Django alias -> {host, hosts, name, port, owner, user, and the config entry's other keys}.

    `placement` is (inventory host, its multidb_alias) for each host of the group databases: the hosts an alias
    lives on are the addresses the app hosts reach it at. One host: a plain server, `host` is it. Two or more: a
    Patroni cluster, `host` is every node comma-separated and the options ask libpq for the read-write one.
    Role names follow one rule: <name>_owner, <name>_app.
    """
    databases = config.get("databases")
    if not isinstance(databases, Mapping) or not databases:
        raise TopologyError(f"{source}: databases: missing or empty; describe every alias there")
    hosts = hosts_by_alias(placement)
    for alias, found in hosts.items():
        if alias not in databases:
            raise TopologyError(
                f"hosts.yml: {', '.join(found)}: multidb_alias: {alias!r} is not an alias of {source} "
                f"(aliases: {', '.join(databases)}); name one of them, or add the alias to {source}"
            )
    derived: dict[str, Any] = {}
    for alias, entry in databases.items():
        key = f"{source}: databases.{alias}"
        if list(entry.get("operations") or []) == ["read"]:
            raise TopologyError(
                f"{key}.operations: [read] is a replica, and role postgres provisions primaries only; "
                "deploy replicas another way, or remove it from this config"
            )
        found = hosts.get(alias, [])
        if not found:
            raise TopologyError(
                f"{key}: needs a host with multidb_alias: {alias} under group databases in hosts.yml "
                "(found: none); add one (two or more: a Patroni cluster), or remove the alias"
            )
        name = str(literal(entry.get("name"), f"{key}.name"))
        port = literal(entry.get("port", DEFAULT_PORT), f"{key}.port")
        if not str(port).isdigit():
            raise TopologyError(f"{key}.port: {port!r} is not a port number; write one, e.g. 5432")
        runtime_timeouts(entry, key)  # a bad value fails the lint and the deploy here, not on the server
        rest = {k: v for k, v in entry.items() if k not in PLACED}
        if len(found) > 1:
            rest["options"] = ha_options(rest.get("options"), f"{key}.options")
        derived[alias] = {**rest, "host": ",".join(found), "hosts": found, "name": name, "port": int(str(port))}
        derived[alias].update(owner=f"{name}_owner", user=f"{name}_app")
    return derived


def ha_options(options: object, key: str) -> dict[str, Any]:
    """The options of an alias on several nodes: libpq keeps the node that accepts writes, and gives up on a dead
    node after HA_CONNECT_TIMEOUT seconds (or the config's own timeout when it is shorter)."""
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise TopologyError(f"{key}: must be a mapping (connect_timeout: 2, ...)")
    given = str(literal(options.get("connect_timeout", HA_CONNECT_TIMEOUT), f"{key}.connect_timeout"))
    if not given.isdigit():
        raise TopologyError(f"{key}.connect_timeout: {given!r} is not a number of seconds; write e.g. 2")
    timeout = min(int(given), HA_CONNECT_TIMEOUT) if int(given) > 0 else HA_CONNECT_TIMEOUT
    return {**options, "connect_timeout": timeout, "target_session_attrs": "read-write"}


def runtime_timeouts(entry: Mapping[str, Any], key: str = "databases.<alias>") -> dict[str, int]:
    """{statement, idle_in_transaction} of the runtime role: the alias's `timeouts`, the defaults for what it omits."""
    given = entry.get("timeouts") or {}
    if not isinstance(given, Mapping):
        raise TopologyError(f"{key}.timeouts: must be a mapping (statement: ms, idle_in_transaction: ms, ...)")
    timeouts = dict(RUNTIME_TIMEOUTS)
    for name in RUNTIME_TIMEOUTS:
        if name not in given:
            continue
        value = str(literal(given[name], f"{key}.timeouts.{name}"))
        if not value.isdigit() or int(value) > MAX_MS:
            raise TopologyError(
                f"{key}.timeouts.{name}: {value!r} is not a number of milliseconds; write e.g. 30000 (0 = none)"
            )
        timeouts[name] = int(value)
    return timeouts


def hosts_by_alias(placement: Iterable[Iterable[str]]) -> dict[str, list[str]]:
    """multidb_alias -> the database hosts that say they hold it (an empty alias is kept, as '')."""
    hosts: dict[str, list[str]] = {}
    for host, alias in placement:
        hosts.setdefault(alias or "", []).append(host)
    return hosts


def literal(value: object, key: str) -> object:
    """The value Ansible must know: a literal, or the default of a ${VAR:-default} reference."""
    if value is None or value == "":
        raise TopologyError(f"{key}: missing; write the value (or ${{VAR:-value}})")
    if not isinstance(value, str):
        return value
    match = REFERENCE.match(value.strip())
    if match is None:
        if "${" in value:
            raise TopologyError(f"{key}: {value!r} mixes text and ${{...}}; write the value, or ${{VAR:-value}}")
        return value
    if match["default"] is None or match["default"] == "":
        raise TopologyError(f"{key}: ${{{match['var']}}} has no default for Ansible; write ${{{match['var']}:-value}}")
    return match["default"]


def _topology_filter(config: Mapping[str, Any], placement: Iterable[Iterable[str]], source: str) -> dict[str, Any]:
    from ansible.errors import AnsibleFilterError  # type: ignore[import-untyped]  # only under Ansible; the lint imports this module without it

    try:
        return topology(config, placement, source)
    except TopologyError as error:
        raise AnsibleFilterError(str(error)) from error


def _timeouts_filter(entry: Mapping[str, Any], alias: str) -> dict[str, int]:
    from ansible.errors import AnsibleFilterError  # only under Ansible (typed as the import above)

    try:
        return runtime_timeouts(entry, f"databases.{alias}")
    except TopologyError as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Any]:
        return {"multidb_topology": _topology_filter, "multidb_runtime_timeouts": _timeouts_filter}
