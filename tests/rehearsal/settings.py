"""Settings for the rehearsal tests: the project's, plus the release named by REHEARSAL_RELEASE.

- ``v1``: what staging runs (fixture_apps/v1/ledger);
- ``v2``: the next release (fixture_apps/v2/ledger: 0002 adds two columns with defaults, 0003 fills
  one, a data migration);
- ``broken``: v2, plus a shop migration that fails on staging's data (duplicate product names);
- ``extension``: v2, plus a shop migration creating an untrusted extension (the owner role may not);
- ``risky``: fixture_apps/risky/ledger, one ledger migration per finding class (see its migrations);
- ``catalogue``: fixture_apps/catalogue/ledger, the static checks "risky" leaves out (its last migration fails).

`rehearse_migrations --previous-release` runs the previous release with MULTIDB_REHEARSAL_PREVIOUS=1: here,
REHEARSAL_PREVIOUS_RELEASE then names it (the tests pass this checkout as the release directory).

DJANGO_SETTINGS_MODULE=tests.rehearsal.settings; ledger is listed in no alias, so it lives in default.
"""

import os

from multidb.routing import build_routing_table
from project.settings import *  # noqa: F403
from project.settings import CONFIG, INSTALLED_APPS

RELEASE = os.environ.get("REHEARSAL_RELEASE", "v1")
if os.environ.get("MULTIDB_REHEARSAL_PREVIOUS"):  # the rehearsal runs the previous release: which one it is
    RELEASE = os.environ.get("REHEARSAL_PREVIOUS_RELEASE", RELEASE)
_LEDGER = {"v1": "v1", "v2": "v2", "broken": "v2", "extension": "v2", "risky": "risky", "catalogue": "catalogue"}
if RELEASE not in _LEDGER:
    raise ValueError(f"REHEARSAL_RELEASE={RELEASE!r}: expected one of {', '.join(_LEDGER)}")

INSTALLED_APPS = [*INSTALLED_APPS, f"tests.rehearsal.fixture_apps.{_LEDGER[RELEASE]}.ledger"]
MULTIDB_ROUTING = build_routing_table(CONFIG, INSTALLED_APPS)
if RELEASE == "broken":
    MIGRATION_MODULES = {"shop": "tests.rehearsal.fixture_apps.shop_unique_names"}
if RELEASE == "extension":
    MIGRATION_MODULES = {"shop": "tests.rehearsal.fixture_apps.shop_extension"}
