"""Shared foundations that import nothing else of ours: configuration, database,
time, ids, parsers, versions, pagination, errors."""
