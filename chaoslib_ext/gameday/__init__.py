"""Game days: the record a run keeps as it happens (record.json, record.md) and its postmortem skeleton."""
