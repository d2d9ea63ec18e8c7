"""Release v2 (the next one)."""
