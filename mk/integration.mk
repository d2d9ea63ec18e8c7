# The integration layer (tests/integration): three Testcontainers PostgreSQL servers, the app configured
# against them from YAML. `bootstrap` (mk/stack.mk) installs Docker on a bare machine and writes the
# PostgreSQL image to use into build/images.env; the tests read it from there.
TEST_LAYERS += test-integration

.PHONY: test-integration

test-integration: venv bootstrap ## Run the integration tests on real PostgreSQL (Testcontainers; installs Docker if missing)
	$(PY) -m pytest tests/integration -m integration -q

# bench/migrate_all_jobs.py and bench/readyz_timeout.py run PostgreSQL containers too.
bench: bootstrap
