"""rlrun.replay_buffers."""
