# Staging migration rehearsal (README, "Staging migration rehearsal"): clone each migratable database of
# config/$(ENV).yaml into a throwaway PostgreSQL container, run this checkout's migrate_all there, report.
# `bootstrap` (mk/stack.mk) installs Docker on a bare machine and picks the PostgreSQL image for the clones.
# ENV=compose rehearses the running Compose stack (`make up`; COMPOSE_PROJECT_NAME picks another stack)
# through a read-only role made by compose/db-init/20-rehearsal-reader.sh (scripts/rehearse-compose.sh).
TEST_LAYERS += test-rehearsal
ENV ?= staging

.PHONY: rehearse test-rehearsal

rehearse: venv bootstrap ## Rehearse migrate_all on copies of ENV's databases (ENV=staging; ARGS="--schema-only" etc.)
ifeq ($(ENV),compose)
	scripts/rehearse-compose.sh $(ARGS)
else
	APP_ENV=$(ENV) $(MANAGE) rehearse_migrations $(ARGS)
endif

test-rehearsal: venv bootstrap ## Run the rehearsal tests (a Testcontainers "staging"; installs Docker if missing)
	$(PY) -m pytest tests/rehearsal -m integration -q
