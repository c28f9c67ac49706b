"""The work behind each CLI command (kept apart from click so it can be tested directly)."""
