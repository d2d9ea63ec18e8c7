"""Routing decisions per second through Django's ConnectionRouter: ours against a trivial dict router."""

from __future__ import annotations

import os
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROUNDS, NUMBER = 7, 20_000


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
        config = Path(workdir) / "local.yaml"
        config.write_text((REPO / "config" / "local.yaml").read_text().replace("data/", f"{workdir}/"))
        os.environ["APP_CONFIG"] = str(config)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
        import django

        django.setup()
        from django.contrib.auth.models import User
        from django.db.utils import ConnectionRouter

        from apps.blog.models import Post
        from apps.shop.models import Order
        from multidb.router import ConfigRouter

        models = [Post, Order, User] * 10  # 30 models, 60 decisions per call
        ours = ConnectionRouter([ConfigRouter()])
        floor = ConnectionRouter([DictRouter({"blog": "blog_db", "shop": "shop_db"})])

        def decide(router: ConnectionRouter) -> None:
            for model in models:
                router.db_for_read(model)
                router.db_for_write(model)

        decisions = len(models) * 2 * NUMBER
        # Interleave the two so both see the same machine noise; keep the best round of each.
        best = {"ours": float("inf"), "dict": float("inf")}
        for _ in range(ROUNDS):
            best["ours"] = min(best["ours"], timeit.timeit(lambda: decide(ours), number=NUMBER))
            best["dict"] = min(best["dict"], timeit.timeit(lambda: decide(floor), number=NUMBER))
        ours_rate, dict_rate = decisions / best["ours"], decisions / best["dict"]
        ratio = best["ours"] / best["dict"]
        print("router decisions through django.db ConnectionRouter (best of 7 rounds)")
        print(f"  ours (ConfigRouter) {ours_rate:>14,.0f} decisions/s")
        print(f"  trivial dict router {dict_rate:>14,.0f} decisions/s")
        print(f"  time ratio ours/trivial: {ratio:.2f}x (goal <= 1.5x): {'ok' if ratio <= 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
