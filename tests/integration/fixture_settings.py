"""Settings for subprocess tests: the project's, with shop's migrations read from tests/integration/shop_migrations.

That package is shop's real 0001_initial plus a 0002 that fails halfway on a database holding products,
as a release's new migration would: DJANGO_SETTINGS_MODULE=tests.integration.fixture_settings.
"""

from project.settings import *  # noqa: F403

MIGRATION_MODULES = {"shop": "tests.integration.shop_migrations"}
