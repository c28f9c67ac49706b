"""rlrun.utils."""
