"""State store tests (run on SQLite and PostgreSQL)."""
