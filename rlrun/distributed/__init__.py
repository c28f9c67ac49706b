"""rlrun.distributed: the Reverb plumbing and roles of distributed training."""
