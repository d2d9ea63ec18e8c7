"""Mutation runs only: a manage.py subprocess started by a test tells mutmut which mutated functions it ran.

mutmut maps tests to functions by recording calls in the pytest process; most
unit tests run app/manage.py in a subprocess, whose calls would be lost and its
mutants reported "no tests". Python imports this file at start-up because the
tests put the mutants folder on PYTHONPATH; it writes the hits to a file that
mutation_plugin.py adds to the test that started the subprocess.
"""

import os

if os.environ.get("MUTANT_UNDER_TEST") == "stats" and os.environ.get("MUTATION_HITS_DIR"):
    import atexit

    def _write_hits() -> None:
        from mutmut.state import state

        hits = state()._stats
        if hits:
            path = os.path.join(os.environ["MUTATION_HITS_DIR"], f"{os.getpid()}.hits")
            with open(path, "w") as out:
                out.write("\n".join(sorted(hits)))

    atexit.register(_write_hits)
