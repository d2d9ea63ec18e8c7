"""Every config/*.yaml loads and validates against the installed apps, with a placeholder for each required ${VAR}."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from multidb.errors import ConfigError
from multidb.topology import load_topology, placeholder

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "config").glob("*.yaml"))


def test_the_repository_has_its_five_configs() -> None:
    assert {path.stem for path in CONFIGS} >= {"local", "compose", "compose-replica", "staging", "production"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_config_loads_and_validates(path: Path) -> None:
    topology = load_topology(path, settings.INSTALLED_APPS)
    assert "default" in topology.databases
    # Outside development every secret is a ${VAR}: the file itself holds none.
    if not topology.config.is_development:
        for alias in topology.databases:
            assert topology.variable(alias, "password") is not None, f"{path.name}: databases.{alias}.password"


def test_a_broken_config_fails_naming_file_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = (REPO / "config" / "compose.yaml").read_text()
    broken.write_text(text.replace("apps: [shop]", "apps: [shop, nosuchapp]"))
    with pytest.raises(ConfigError) as raised:
        load_topology(broken, settings.INSTALLED_APPS)
    assert str(raised.value).startswith(f"{broken}: databases.shop_db.apps[1]: 'nosuchapp' is not an installed app")


def test_required_variables_get_placeholders_and_defaults_stay(tmp_path: Path) -> None:
    topology = load_topology(REPO / "config" / "staging.yaml", settings.INSTALLED_APPS)
    blog = topology.databases["blog_db"]
    assert (blog.user, blog.port, blog.name) == (placeholder("BLOG_DB_USER"), 5432, "blog")
    assert {"DJANGO_SECRET_KEY", "BLOG_DB_PASSWORD", "BLOG_DB_HOST"} <= topology.required
    assert "BLOG_DB_PORT" not in topology.required  # ${BLOG_DB_PORT:-5432}: the default is used


def test_compose_generator_gives_one_server_per_alias(tmp_path: Path) -> None:
    """scripts/compose_databases.py: a fourth alias in config/compose.yaml is a fourth database service."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    text = (REPO / "config" / "compose.yaml").read_text()
    extra = text[text.index("  shop_db:") :].replace("shop", "extra").replace("SHOP", "EXTRA")
    (config_dir / "compose.yaml").write_text(text + extra.replace("apps: [extra]", "apps: []"))
    result = _generate(config_dir, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    aliases = (tmp_path / "out" / "compose.aliases").read_text().splitlines()
    assert [row.split("\t")[:3] for row in aliases] == [
        ["default", "db-main", "main"],
        ["blog_db", "db-blog", "blog"],
        ["shop_db", "db-shop", "shop"],
        ["extra_db", "db-extra", "extra"],
    ]
    keys = (tmp_path / "out" / "compose.env-keys").read_text().split()
    assert keys[-3:] == ["EXTRA_DB_SUPERUSER_PASSWORD", "EXTRA_DB_OWNER_PASSWORD", "EXTRA_DB_RUNTIME_PASSWORD"]


def test_compose_generator_refuses_a_host_without_service_name(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    text = (REPO / "config" / "compose.yaml").read_text()
    (config_dir / "compose.yaml").write_text(text.replace("${SHOP_DB_HOST:-db-shop}", "${SHOP_DB_HOST}"))
    result = _generate(config_dir, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.startswith(f"compose: {config_dir / 'compose.yaml'}: databases.shop_db.host: ")
    assert len(result.stderr.splitlines()) == 1


def _generate(config_dir: Path, out: Path) -> subprocess.CompletedProcess[str]:
    script = REPO / "scripts" / "compose_databases.py"
    return subprocess.run(
        [sys.executable, str(script), str(config_dir), str(out)], capture_output=True, text=True, check=False
    )
