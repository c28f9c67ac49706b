"""rlrun.drivers."""
