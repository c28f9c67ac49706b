"""Studies: many runs of one config (seeds, sweeps), scheduled as child `rlrun train` processes."""
