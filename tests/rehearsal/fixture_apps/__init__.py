"""Releases of the app under rehearsal: ledger before and after a change, and shop with a migration that fails."""
