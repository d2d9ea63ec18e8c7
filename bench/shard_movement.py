"""Fraction of keys that change shard when a group grows from 4 to 5 shards, per strategy (goal: jump <= 1.2/N)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from multidb.sharding import STRATEGIES

KEYS = range(1, 200_001)
BEFORE, AFTER = 4, 5


def main() -> None:
    print(f"keys moved growing {BEFORE} -> {AFTER} shards ({len(KEYS):,} sequential user ids)")
    ideal = 1 / AFTER
    for name, strategy in STRATEGIES.items():
        started = time.perf_counter()
        moved = sum(strategy(key, BEFORE) != strategy(key, AFTER) for key in KEYS) / len(KEYS)
        per_key = (time.perf_counter() - started) / (2 * len(KEYS))
        print(
            f"  {name:<7} moved {moved:6.1%}  ({moved / ideal:.2f}x the minimum 1/N = {ideal:.0%}), "
            f"{per_key * 1e9:.0f} ns per key"
        )
    jump_moved = sum(STRATEGIES["jump"](k, BEFORE) != STRATEGIES["jump"](k, AFTER) for k in KEYS) / len(KEYS)
    print(f"  jump within 1.2/N: {'ok' if jump_moved <= 1.2 / AFTER else 'MISSED'}")


if __name__ == "__main__":
    main()
