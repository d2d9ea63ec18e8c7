"""shop's migrations in a release that makes product names unique: staging holds duplicates, so 0002 fails.

Raw SQL only, so the models and the migration state still agree (no "changes without migrations").
"""
