"""Staging migration rehearsal: migrate_all on throwaway clones of an environment's databases, never on them.

One word per concept, in module, class and function names alike:

- source: an environment's database being rehearsed; read through read-only sessions only (source.py).
- clone server: a throwaway PostgreSQL container that receives one source's database (clone_server.py).
- dump: the transfer of one source into its clone server, pg_dump piped or staged into pg_restore (dump.py).
- step: one per-alias unit of work run in its own thread: start, dump, count and remove, verify (steps.py).
- run: the orchestration of the steps and of migrate_all on the clone servers (runner.py, migrate.py).

The command's output (terminal lines, JSON and Markdown report) keeps the user's word "copy" for the database
in a clone server: its keys and wording are an interface that scripts and the Ansible role read.

Nothing here is imported by the routing library; this package imports Testcontainers (clone_server.py), so
`rehearse_migrations` imports runner.py only when it runs.
"""
