"""Settings for subprocess tests: the project's, with blog's migrations from tests/unit/fixture_apps/blog_migrations."""

from project.settings import *  # noqa: F403

MIGRATION_MODULES = {"blog": "tests.unit.fixture_apps.blog_migrations"}
