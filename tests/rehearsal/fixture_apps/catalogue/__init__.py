"""A release whose ledger migrations show the static checks not covered by release "risky" (see its migrations)."""
