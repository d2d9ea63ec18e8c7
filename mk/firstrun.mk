# First run: a user to log in with, and demo data. Both act on the Compose stack
# when its app container is running (ENV_FILE, COMPOSE_PROJECT_NAME pick the
# stack), otherwise on the local SQLite databases of `make dev`; WHERE=stack or
# WHERE=dev forces one. Non-interactive superuser: USERNAME=... PASSWORD=...

ENV_FILE ?= .env
FIRSTRUN_COMPOSE := ENV_FILE=$(ENV_FILE) scripts/compose.sh
# stack | dev, decided when a target runs (docker may be missing: then dev).
FIRSTRUN_WHERE = $(or $(WHERE),$(shell $(FIRSTRUN_COMPOSE) ps --status running --services 2>/dev/null | grep -qx app && echo stack || echo dev))
# The password travels in the environment (-e NAME without a value), never on a command line.
FIRSTRUN_SUPERUSER_ARGS = $(if $(and $(USERNAME),$(PASSWORD)),--noinput --username "$$USERNAME" --email "$${EMAIL:-$$USERNAME@example.invalid}")

.PHONY: superuser seed docs-picture

superuser: ## Create an admin user (asks; or USERNAME=... PASSWORD=... non-interactively) in the stack, else in make dev's SQLite
	@where=$(FIRSTRUN_WHERE); echo "superuser: $$( [ "$$where" = stack ] && echo "in the Compose stack (app container)" || echo "in make dev's SQLite databases")"; \
	export DJANGO_SUPERUSER_PASSWORD="$$PASSWORD"; \
	if [ "$$where" = stack ]; then \
	  $(FIRSTRUN_COMPOSE) exec $(if $(FIRSTRUN_SUPERUSER_ARGS),-T) -e DJANGO_SUPERUSER_PASSWORD app \
	    python app/manage.py createsuperuser $(FIRSTRUN_SUPERUSER_ARGS); \
	else \
	  $(MAKE) --no-print-directory venv >/dev/null && APP_ENV=local $(MANAGE) createsuperuser $(FIRSTRUN_SUPERUSER_ARGS); \
	fi

seed: ## Create demo users, posts, comments, products and orders (idempotent) in the stack, else in make dev's SQLite
	@where=$(FIRSTRUN_WHERE); echo "seed: $$( [ "$$where" = stack ] && echo "in the Compose stack (app container)" || echo "in make dev's SQLite databases")"; \
	if [ "$$where" = stack ]; then \
	  $(FIRSTRUN_COMPOSE) exec -T app python app/manage.py seed; \
	else \
	  $(MAKE) --no-print-directory venv >/dev/null && APP_ENV=local $(MANAGE) seed; \
	fi

# The SVG records its source's SHA-256, so tests/unit/test_docs.py can tell a stale picture
# without running Graphviz (whose output differs between versions).
docs-picture: ## Regenerate docs/architecture.svg from docs/architecture.dot (installs Debian's graphviz if missing)
	@scripts/ensure-debs.sh graphviz
	@sha=$$(sha256sum docs/architecture.dot | cut -d' ' -f1); \
	dot -Tsvg docs/architecture.dot | sed "1a <!-- generated from docs/architecture.dot sha256:$$sha by make docs-picture -->" > docs/architecture.svg.tmp
	@mv docs/architecture.svg.tmp docs/architecture.svg
	@echo "docs-picture: docs/architecture.svg"
