# The Compose stack (compose/compose.yaml + build/compose.databases.yaml, generated from
# config/compose*.yaml): `make up` on a bare machine installs Docker and Compose if missing,
# picks or builds the base images, writes the database services (one per alias) and .env,
# builds the app image and starts the databases, migrate and app.
# ENV_FILE selects another env file; COMPOSE_PROJECT_NAME another stack.
# PROFILE=replica (or COMPOSE_PROFILES=replica in the env file) adds db-blog-replica.
# PROFILE=ha runs every alias on two Patroni nodes and one etcd instead (docs/ha.md); down, destroy,
# logs, ps and psql act on whichever shape runs (scripts/stack-shape.sh).
# The app is served by the `proxy` (nginx) at https://127.0.0.1:8443; its certificate is generated on the
# first `make up` into TLS_DIR (default build/tls), which `make down` and `make destroy` keep (docs/tls.md).

ENV_FILE ?= .env
COMPOSE := ENV_FILE=$(ENV_FILE) scripts/compose.sh
export ENV_FILE
# The proxy's certificate directory (docs/tls.md): the environment's TLS_DIR, else the env file's, else build/tls;
# exported so scripts/ensure-tls.sh, stack-up.sh and Compose all use the same one.
TLS_DIR ?= $(or $(shell sed -n 's/^TLS_DIR=//p' $(ENV_FILE) 2>/dev/null | tail -n 1),build/tls)
export TLS_DIR
ifdef PROFILE
export COMPOSE_PROFILES := $(PROFILE)
endif
TEST_LAYERS += test-e2e

.PHONY: bootstrap compose-files up down destroy logs ps failover migrate psql manage test-e2e

bootstrap: ## Install/start Docker and Compose v2 if missing; choose or build base images
	@scripts/bootstrap-docker.sh
	@scripts/ensure-images.sh

# Cheap (~0.3 s) and rewrites only what changed, so every target that needs them runs it.
compose-files: venv ## Write build/compose.databases.yaml (one PostgreSQL service per alias) from config/compose*.yaml
	@$(PY) scripts/compose_databases.py config build

up: bootstrap compose-files ## Start the stack (build, migrate, app, TLS proxy); print the https URL and /readyz (PROFILE=replica: with a blog replica)
	@scripts/ensure-env.sh $(ENV_FILE)
	@scripts/ensure-tls.sh
	@scripts/stack-up.sh

# down, destroy, logs and ps act on every profile: a replica started with PROFILE=replica included.
down: ## Stop the stack and remove its containers; data volumes are kept
	@$(COMPOSE) --progress quiet --profile '*' down

destroy: ## Remove the stack and its data volumes (asks first unless FORCE=1); backups kept unless a 2nd yes or DELETE_BACKUPS=1
	@FORCE=$(FORCE) scripts/destroy.sh

logs: ## Follow the stack's logs (SERVICE=app for one service)
	@$(COMPOSE) --profile '*' logs --follow --tail 100 $(SERVICE)

ps: ## Show the stack's containers and their health (ha profile: each alias's leader, standby and lag too)
	@$(COMPOSE) --profile '*' ps --all
	@ENV_FILE=$(ENV_FILE) scripts/ha.sh status

failover: ## Planned switchover of an HA alias to its synchronous standby: make failover DB=blog_db (PROFILE=ha)
	@ENV_FILE=$(ENV_FILE) scripts/ha.sh failover "$(DB)"

migrate: compose-files ## Run the migrate job again (ARGS="--plan" etc. go to migrate_all)
	@scripts/build-app-image.sh
	@$(COMPOSE) --progress quiet run --rm migrate migrate $(ARGS)

psql: compose-files ## psql as superuser on an alias's database: make psql DB=blog_db [ARGS=-tA] (aliases: config/compose.yaml)
	@scripts/psql.sh "$(DB)" $(ARGS)

manage: compose-files ## Run manage.py in the running app container: make manage ARGS="dbroutes"
	@$(COMPOSE) exec $$([ -t 0 ] || echo -T) app python app/manage.py $(ARGS)

test-e2e: venv bootstrap ## Run the end-to-end tests against a separate Compose stack
	$(PY) -m pytest tests/e2e/test_stack.py tests/e2e/test_edge_compose.py tests/e2e/test_browser.py tests/e2e/test_api_edge.py tests/e2e/test_logging.py tests/e2e/test_backup.py tests/e2e/test_replica_profile.py tests/e2e/test_add_database.py tests/e2e/test_ha.py -m e2e -q
