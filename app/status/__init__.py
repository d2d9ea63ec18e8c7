"""The status page at `/`: where each app's data lives, and whether each database is healthy."""
