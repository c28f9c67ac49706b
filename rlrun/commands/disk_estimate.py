"""What a run will keep on disk, for `rlrun check`: from one real agent checkpoint and one real
policy export written in the check's scratch directory, times what the settings keep."""

import os
from typing import Any, Dict

import tensorflow as tf

# Checkpointer's max_to_keep: each checkpoint keeps its replay beside it.
CHECKPOINTS_KEPT = 3


def directory_bytes(path: str) -> int:
  return sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(path) for name in names)


def estimate(parts, scratch: str, step_bytes: int, replay_length: int, stride: int,
             capacity: int, shared_steps: bool) -> Dict[str, Any]:
  """The bytes a run of `parts.settings` keeps: checkpoints (agent and replay) and policies.

  The replay part is uncompressed: an upper bound for Reverb, whose checkpoints compress.
  """
  settings = parts.settings
  checkpoint_dir = os.path.join(scratch, "disk-estimate", "checkpoint")
  tf.train.Checkpoint(agent=parts.agent, train_step=parts.train_step).write(
      os.path.join(checkpoint_dir, "ckpt"))
  agent_bytes = directory_bytes(checkpoint_dir)
  exports = parts.policy_exports()
  policy_dir = os.path.join(scratch, "disk-estimate", "policy")
  exports["policy"].save(policy_dir)
  policy_bytes = directory_bytes(policy_dir)
  envs = getattr(settings, "collect_parallel_envs", 1)
  steps = settings.initial_collect_steps + (
      settings.num_iterations * settings.collect_steps_per_iteration * envs)
  items = min(capacity, steps // stride)
  per_item = step_bytes * (min(stride, replay_length) if shared_steps else replay_length)
  interval = settings.checkpoint_interval
  # One at each multiple of the interval, and one at the end.
  written = -(-settings.num_iterations // interval) if interval else 1
  kept = min(CHECKPOINTS_KEPT, max(1, written))
  # Every exported policy, the greedy snapshots and the best one are about this size.
  copies = len(exports) + settings.policy_snapshots + int(bool(settings.keep_best_policy))
  replay_bytes = items * per_item
  return {"checkpoints_kept": kept, "agent_checkpoint_bytes": agent_bytes,
          "replay_checkpoint_bytes": replay_bytes, "policy_bytes": policy_bytes,
          "policy_copies": copies,
          "total_bytes": kept * (agent_bytes + replay_bytes) + copies * policy_bytes}
