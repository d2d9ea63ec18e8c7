"""Routing decisions per second through Django's ConnectionRouter: ours, with and without replicas, against a
trivial dict router, all measured in the same run."""

from __future__ import annotations

import os
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROUNDS, NUMBER = 7, 10_000
REPLICA = """
  blog_replica:
    engine: django.db.backends.sqlite3
    name: data/blog.sqlite3
    apps: [apps.blog]
    operations: [read]
"""


class DictRouter:
    """The floor: a dict lookup per decision, nothing else."""

    def __init__(self, homes: dict[str, str]) -> None:
        self.homes = homes

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.homes.get(model._meta.app_label, "default")

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.homes.get(model._meta.app_label, "default")


def main() -> None:
    sys.path.insert(0, str(REPO / "app"))
    with tempfile.TemporaryDirectory() as workdir:
        local = (REPO / "config" / "local.yaml").read_text()
        config = Path(workdir) / "replicated.yaml"
        config.write_text((local + REPLICA).replace("data/", f"{workdir}/"))
        os.environ["APP_CONFIG"] = str(config)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
        import django

        django.setup()
        run(Path(workdir), local)


def run(workdir: Path, local: str) -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db.utils import ConnectionRouter
    from django.test import override_settings

    from apps.blog.models import Post
    from apps.shop.models import Order
    from multidb.loader import load_config
    from multidb.replicas import pinning_scope
    from multidb.router import ConfigRouter
    from multidb.routing import build_routing_table

    home_only_config = workdir / "local.yaml"
    home_only_config.write_text(local.replace("data/", f"{workdir}/"))
    apps = settings.INSTALLED_APPS
    home_only_table = build_routing_table(load_config(home_only_config, apps), apps)
    with override_settings(MULTIDB_ROUTING=home_only_table):
        home_only = ConnectionRouter([ConfigRouter()])
    replicated = ConnectionRouter([ConfigRouter()])  # the process's config: blog reads from blog_replica
    floor = ConnectionRouter([DictRouter({"blog": "blog_db", "shop": "shop_db"})])
    models = [Post, Order, User] * 10  # 60 decisions per call: 30 reads, 30 writes

    def decide(router: ConnectionRouter) -> Callable[[], None]:
        def loop() -> None:
            for model in models:
                router.db_for_read(model)
                router.db_for_write(model)

        return loop

    def pinned_half(router: ConnectionRouter) -> Callable[[], None]:
        # Half the requests wrote (pinned: reads stay home), half did not (reads go to the replica).
        loop = decide(router)

        def requests() -> None:
            with pinning_scope():
                loop()
            with pinning_scope({"blog_db"}):
                loop()

        return requests

    cases = {
        "trivial dict router": decide(floor),
        "ours, home-only": decide(home_only),
        "ours, replicas + pinning": pinned_half(replicated),
    }
    decisions = {"trivial dict router": 60, "ours, home-only": 60, "ours, replicas + pinning": 120}
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(ROUNDS):  # interleaved, so every case sees the same machine noise; best round kept
        for name, case in cases.items():
            best[name] = min(best[name], timeit.timeit(case, number=NUMBER) / (decisions[name] * NUMBER))
    print(f"router decisions through django.db ConnectionRouter (best of {ROUNDS} rounds)")
    for name, seconds in best.items():
        print(f"  {name:<26} {1 / seconds:>12,.0f} decisions/s")
    ours = best["ours, home-only"] / best["trivial dict router"]
    replicas = best["ours, replicas + pinning"] / best["ours, home-only"]
    print(f"  home-only vs trivial:        {ours:.2f}x time per decision (goal <= 1.5x): {verdict(ours)}")
    print(f"  replicas+pinning vs home-only: {replicas:.2f}x time per decision (goal <= 1.5x): {verdict(replicas)}")


def verdict(ratio: float) -> str:
    return "ok" if ratio <= 1.5 else "MISSED"


if __name__ == "__main__":
    main()
