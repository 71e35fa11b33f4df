"""Store adapters: how events are kept. The per-stream cipher mapper, the
chained SQLite recorder (a PostgreSQL one will sit beside it), the vault of
keys and secrets, deleting so it stays deleted, and `verify`."""
