"""What a run leaves for people and machines: summary.json, report.md (and the terminal tables)."""
