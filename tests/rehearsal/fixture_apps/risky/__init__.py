"""A release with one ledger migration per class of finding: 0002 safe, 0003 rewrite, 0004 plain index, 0005 drop."""
