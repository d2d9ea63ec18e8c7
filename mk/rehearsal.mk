# Staging migration rehearsal (README, "Staging migration rehearsal"): copy each migratable database of
# config/$(ENV).yaml into a throwaway PostgreSQL container, run this checkout's migrate_all there, report.
# `bootstrap` (mk/stack.mk) installs Docker on a bare machine and picks the PostgreSQL image for the copies.
# ENV=compose rehearses the running Compose stack (`make up`; COMPOSE_PROJECT_NAME picks another stack)
# through a read-only role made by compose/db-init/20-rehearsal-reader.sh.
TEST_LAYERS += test-rehearsal
ENV ?= staging

.PHONY: rehearse test-rehearsal

rehearse: venv bootstrap ## Rehearse migrate_all on copies of ENV's databases (ENV=staging; ARGS="--schema-only" etc.)
ifeq ($(ENV),compose)
	@bash -c "$$REHEARSE_COMPOSE" rehearse $(ARGS)
else
	APP_ENV=$(ENV) $(MANAGE) rehearse_migrations $(ARGS)
endif

test-rehearsal: venv bootstrap ## Run the rehearsal tests (a Testcontainers "staging"; installs Docker if missing)
	$(PY) -m pytest tests/rehearsal -m integration -q

# The stack's databases as "staging": give each server's rehearsal_reader role a fresh password (the init
# script again, piped into the container; idempotent), then point config/compose.yaml at the containers'
# addresses on the stack's network (reachable from this host) as that role. Passwords travel in the
# environment only. Nothing but the role's password and its SELECT grants changes on the stack.
define REHEARSE_COMPOSE
set -euo pipefail
compose=(scripts/compose.sh)
for service in main blog shop; do
  id=$$("$${compose[@]}" ps --status running -q "db-$$service")
  if [[ -z $$id ]]; then
    echo "rehearse: db-$$service of the Compose stack is not running; start it with \`make up\`" >&2
    exit 2
  fi
  password=$$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  REHEARSAL_READER_PASSWORD=$$password "$${compose[@]}" exec -T --user postgres \
    -e REHEARSAL_READER_PASSWORD "db-$$service" bash -s <compose/db-init/20-rehearsal-reader.sh >/dev/null
  prefix=$${service^^}_DB
  export "$${prefix}_HOST=$$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$$id" | cut -d' ' -f1)"
  export "$${prefix}_USER=rehearsal_reader" "$${prefix}_PASSWORD=$$password"
done
export DJANGO_SECRET_KEY=$$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')  # config/compose.yaml needs one; unused
APP_ENV=compose exec $(MANAGE) rehearse_migrations "$$@"
endef
export REHEARSE_COMPOSE
