"""Release v1 (what staging runs)."""
