"""scripts/compose_databases.py, profile `ha`: Patroni nodes and etcd in a file of their own, plain stack untouched."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
NODES = ["db-main-1", "db-main-2", "db-blog-1", "db-blog-2", "db-shop-1", "db-shop-2"]


def _generate(config_dir: Path, out: Path) -> subprocess.CompletedProcess[str]:
    script = REPO / "scripts" / "compose_databases.py"
    return subprocess.run(
        [sys.executable, str(script), str(config_dir), str(out)], capture_output=True, text=True, check=False
    )


def _ha(tmp_path: Path) -> dict[str, Any]:
    result = _generate(REPO / "config", tmp_path)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = yaml.safe_load((tmp_path / "compose.databases-ha.yaml").read_text())
    return document


def test_the_plain_and_replica_files_are_the_same_with_or_without_the_ha_profile(tmp_path: Path) -> None:
    without = tmp_path / "without"
    shutil.copytree(REPO / "config", without)
    (without / "compose-ha.yaml").unlink()
    assert _generate(without, tmp_path / "a").returncode == 0
    assert _generate(REPO / "config", tmp_path / "b").returncode == 0
    for name in ["compose.databases.yaml", "compose.aliases"]:
        first = (tmp_path / "a" / name).read_text().replace(str(without), "config")
        assert first == (tmp_path / "b" / name).read_text().replace(str(REPO / "config"), "config"), name
    assert not (tmp_path / "a" / "compose.databases-ha.yaml").exists()


def test_each_alias_gets_two_patroni_nodes_one_etcd_and_no_plain_server(tmp_path: Path) -> None:
    services = _ha(tmp_path)["services"]
    assert sorted(services) == sorted([*NODES, "etcd", "migrate", "app"])
    blog = services["db-blog-1"]
    assert blog["environment"]["PATRONI_SCOPE"] == "blog"
    assert blog["environment"]["PATRONI_NAME"] == "db-blog-1"
    assert blog["environment"]["DB_REPLICATION"] == "blog_replicator"
    assert set(services["migrate"]["depends_on"]) == set(NODES)
    assert (tmp_path / "compose-ha.aliases").read_text().splitlines()[1] == "blog_db\tdb-blog-1,db-blog-2\tblog\tha"


def test_nodes_and_etcd_are_hardened_and_read_secrets_from_files(tmp_path: Path) -> None:
    document = _ha(tmp_path)
    for name in [*NODES, "etcd"]:
        service = document["services"][name]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["user"] in ("postgres", "etcd"), name
        assert not any("PASSWORD=" in str(value) for value in service.get("environment", {}).values()), name
    assert "blog_replication_password" in document["secrets"]
    assert "main_replication_password" in document["secrets"]


def test_the_app_connects_with_the_runtime_roles_and_migrate_with_the_owner_roles(tmp_path: Path) -> None:
    services = _ha(tmp_path)["services"]
    assert services["app"]["environment"]["BLOG_DB_USER"] == "blog_runtime"
    assert services["migrate"]["environment"]["BLOG_DB_USER"] == "blog_owner"
    env_keys = (tmp_path / "compose.env-keys").read_text().split()
    assert {"MAIN_DB_REPLICATION_PASSWORD", "SHOP_DB_REPLICATION_PASSWORD", "BLOG_DB_REPLICATION_PASSWORD"} <= set(
        env_keys
    )


def test_an_ha_alias_whose_host_is_not_its_node_list_is_refused_in_one_line(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(REPO / "config", config_dir)
    ha = config_dir / "compose-ha.yaml"
    ha.write_text(ha.read_text().replace("db-blog-1,db-blog-2", "db-blog"))
    result = _generate(config_dir, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.startswith(f"compose: {ha}: databases.blog_db.host: ")
    assert "db-blog-1,db-blog-2" in result.stderr  # the fix names the node list
    assert len(result.stderr.splitlines()) == 1
