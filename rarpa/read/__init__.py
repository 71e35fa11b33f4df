"""The read side: projections into the read-model file, the queries that
answer every read, the record as at an instant, and the annual-review pack."""
