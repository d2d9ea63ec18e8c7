# Mutation testing: mutmut over app/multidb against tests/unit. Slow (see docs/mutation.md), so it is
# neither a TEST_LAYERS entry nor part of CI. MUTATION_JOBS=N sets the workers (default 2).

.PHONY: mutation

mutation: venv ## Mutation-test app/multidb with mutmut against the unit tests; prints the score (not in CI)
	mk/mutation/run.sh
