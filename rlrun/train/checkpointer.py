"""Checkpointer: TF objects plus a JSON side-state (metrics, RNGs), saved together."""

import json
import os
from typing import Any, Dict, Optional, Tuple

import tensorflow as tf


class Checkpointer:
  """Saves `trackables` with tf.train.CheckpointManager and `state-<step>.json` beside.

  The JSON file is written (atomically) before the TF checkpoint is registered, so
  the newest registered checkpoint always has its side-state.

  Args:
    directory: e.g. <root>/checkpoints.
    max_to_keep: how many checkpoints to keep.
    **trackables: the objects to save (agent, train_step, ...).
  """

  def __init__(self, directory: str, max_to_keep: int = 3, **trackables: Any):
    self._directory = directory
    self._checkpoint = tf.train.Checkpoint(**trackables)
    self._manager = tf.train.CheckpointManager(self._checkpoint, directory, max_to_keep)

  @property
  def directory(self) -> str:
    return self._directory

  @property
  def latest(self) -> Optional[str]:
    return self._manager.latest_checkpoint

  def save(self, step: int, state: Optional[Dict[str, Any]] = None) -> str:
    os.makedirs(self._directory, exist_ok=True)
    state_path = os.path.join(self._directory, f"state-{step}.json")
    tmp = f"{state_path}.tmp"
    with open(tmp, "w") as f:
      json.dump(state or {}, f)
    os.replace(tmp, state_path)
    path = self._manager.save(checkpoint_number=step)
    self._prune_states()
    return path

  def restore(self) -> Tuple[Optional[int], Dict[str, Any]]:
    """Restores the newest checkpoint; returns (its step, its side-state) or (None, {})."""
    latest = self._manager.latest_checkpoint
    if latest is None:
      return None, {}
    self._checkpoint.restore(latest).assert_existing_objects_matched()
    step = int(latest.rsplit("-", 1)[1])
    state_path = os.path.join(self._directory, f"state-{step}.json")
    state = {}
    if os.path.exists(state_path):
      with open(state_path) as f:
        state = json.load(f)
    return step, state

  def _prune_states(self) -> None:
    kept = {f"state-{p.rsplit('-', 1)[1]}.json" for p in self._manager.checkpoints}
    for name in os.listdir(self._directory):
      if name.startswith("state-") and name.endswith(".json") and name not in kept:
        os.remove(os.path.join(self._directory, name))
