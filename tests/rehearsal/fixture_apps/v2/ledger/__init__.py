"""The next release of ledger: a currency column with a default, and amounts in cents filled by a data migration."""
