"""Staging migration rehearsal: migrate_all on throwaway clones of an environment's databases, never on them.

One word per concept, in module, class and function names, messages and comments alike:

- source: an environment's database being rehearsed; read through read-only sessions only (source.py).
- clone server: a throwaway PostgreSQL container that receives one source's database (clone_server.py);
  the clone is the database it holds.
- dump: the transfer of one source into its clone server, pg_dump piped or staged into pg_restore (dump.py).
- step: one per-alias unit of work in its own thread: check the source, start, dump, count and remove,
  verify the source (steps.py); the runner orders the steps and runs migrate_all on the clones (runner.py,
  migrate.py, child.py).
- owner: the source's roles recreated in the clone before the dump, so owners and grants restore and migrate_all
  runs as the owner role (owner.py).
- watch: what is observed while migrate_all runs: a lock sampler (observe.py) and canary traffic as the runtime
  role (canary.py) per clone (watch.py); findings come from them, from static checks of each migration's SQL
  (checks.py), from privilege failures (findings.py) and from the previous release run against the migrated
  clones (previous.py).

The command's output (terminal lines, JSON and Markdown report) keeps the users' word "copy" for the clone and
its dump: its keys and wording are an interface that scripts, the Ansible role and README rely on.

The routing library imports nothing from here; clone_server.py imports Testcontainers, so `rehearse_migrations`
imports runner.py only when it runs. compose_sources.py lists the Compose stack's databases for
scripts/rehearse-compose.sh (`make rehearse ENV=compose`).
"""
