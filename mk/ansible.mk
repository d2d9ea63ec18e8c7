# The Ansible layer (ansible/): `make deploy ENV=<inventory>` runs deploy.yml; test-ansible lints it and
# runs it against one throwaway systemd container per host of ansible/inventories/test (tests/e2e/test_ansible*.py,
# which read the topology from that inventory and config/staging.yaml). Collections come with
# the `ansible` package from PyPI (requirements/dev.lock; pinned in ansible/requirements.yml).
TEST_LAYERS += test-ansible
TEST_OWN_LANE += test-ansible
ENV ?= staging
# ARGS passes more options to ansible-playbook, e.g. ARGS="--check --diff" or ARGS=--ask-vault-pass.
ANSIBLE := ANSIBLE_CONFIG=$(CURDIR)/ansible/ansible.cfg PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

.PHONY: deploy restore-ansible lint-ansible test-ansible

deploy: venv ## Deploy with Ansible: ansible-playbook ansible/deploy.yml -i ansible/inventories/$(ENV) (ENV=staging)
	$(ANSIBLE) ansible-playbook ansible/deploy.yml -i ansible/inventories/$(ENV) $(ARGS)

# TIME and DB as for `make restore`: restore-ansible ENV=staging TIME="2026-11-30 12:03:00+00" DB="<alias> ...".
restore-ansible: venv ## Point-in-time restore with Ansible: ansible/restore.yml -i ansible/inventories/$(ENV) (TIME=, DB=)
	$(ANSIBLE) ansible-playbook ansible/restore.yml -i ansible/inventories/$(ENV) \
	  --extra-vars '{"restore_time": "$(TIME)", "restore_db": "$(DB)"}' $(ARGS)

lint-ansible: venv ## Lint the playbook and roles (ansible-lint), check every inventory against its config/<env>.yaml, syntax-check
	cd ansible && $(ANSIBLE) ansible-lint
	$(VENV)/bin/ruff check ansible/lint_topology.py ansible/filter_plugins
	$(VENV)/bin/ruff format --check ansible/lint_topology.py ansible/filter_plugins
	$(VENV)/bin/mypy --strict ansible/lint_topology.py ansible/filter_plugins/multidb_topology.py ansible/filter_plugins/multidb_restore.py
	$(PY) ansible/lint_topology.py ansible/inventories/*/
	@for inventory in ansible/inventories/*/; do \
	  for playbook in deploy restore; do \
	    $(ANSIBLE) ansible-playbook --syntax-check ansible/$$playbook.yml -i "$$inventory" >/dev/null || exit 1; \
	  done; \
	done

test-ansible: venv bootstrap ## Run the Ansible tests: lint, syntax-check, deploy.yml on throwaway systemd hosts
	$(PY) -m pytest tests/e2e/test_ansible_lint.py tests/e2e/test_ansible_topology.py tests/e2e/test_ansible_restore_plan.py tests/e2e/test_ansible_rehearsal_secrets.py tests/e2e/test_ansible.py -m e2e -q
