"""rlrun.networks."""
