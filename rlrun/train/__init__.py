"""rlrun.train."""
