"""ledger as staging runs it (release v1): entries with an amount in whole units."""
