"""The service layer: one method per thing a person can do to the record,
who may do it (access), and what comes in (the input schemas)."""
