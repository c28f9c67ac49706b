"""LocalRollouts: an on-policy rollout queue in process (deterministic and 'local' runs).

What PpoBuilder's Reverb queue does, without a server: the collector feeds it every
Trajectory and ends each rollout with `end_run(time_step)`; the learner takes the items
back in order, `num_envs` of them per batch, each exactly once. It saves and loads in
LocalReplay's checkpoint format (rlrun.replay_buffers.local_replay), so the checkpointer
archives, verifies and restores it the same way.
"""

import collections
import json
import os
from typing import Any, Dict

import numpy as np
import tensorflow as tf

from rlrun.replay_buffers.local_replay import FILE, write_files
from rlrun.replay_buffers.rollout_writer import Rollout


class LocalRollouts:
  """Rollout items queued in process, handed out once, in the order they were written.

  Args:
    data_spec: the spec of one step (the agent's collect_data_spec).
    num_envs: environments per rollout (items per batch).
    rollout_length: T; items hold T + 1 steps.
    capacity: the most items queued; writing more is an error (the learner fell behind).
  """

  def __init__(self, data_spec: Any, num_envs: int, rollout_length: int, capacity: int):
    self._spec = data_spec
    self._rollout = Rollout(num_envs, rollout_length)
    self._capacity = capacity
    self._items: collections.deque = collections.deque()

  def num_frames(self) -> int:
    """Items queued."""
    return len(self._items)

  def __call__(self, trajectory) -> None:
    self._rollout.add(trajectory)

  def end_run(self, time_step) -> None:
    """Queues the rollout's items, bootstrapped by `time_step`."""
    items = self._rollout.items(time_step)  # per item, its flat fields [T + 1, ...]
    if len(self._items) + len(items) > self._capacity:
      raise RuntimeError(f"the rollout queue holds {len(self._items)} of {self._capacity} "
                         "items: the learner has not taken the previous rollouts")
    self._items.extend(items)

  def sample(self, count: int) -> Any:
    """`count` batches of num_envs items, stacked [count, num_envs, T + 1, ...]; removed."""
    envs = self._rollout.num_envs
    if len(self._items) < count * envs:
      raise RuntimeError(f"the learner asked for {count * envs} rollout items, the queue holds "
                         f"{len(self._items)}")
    taken = [self._items.popleft() for _ in range(count * envs)]
    flat = [np.stack(leaves) for leaves in zip(*taken)]
    flat = [leaf.reshape((count, envs) + leaf.shape[1:]) for leaf in flat]
    return tf.nest.pack_sequence_as(self._spec, flat)

  def flush(self) -> None:
    pass

  def reset(self) -> None:
    self._rollout.clear()

  def close(self) -> None:
    pass

  # ---- state (LocalReplay's format) -----------------------------------------------

  def save(self, directory: str) -> Dict[str, int]:
    """Writes the queued items into `directory` (files complete before DONE); returns counts."""
    os.makedirs(directory, exist_ok=True)
    leaves = list(self._items)
    specs = tf.nest.flatten(self._spec)
    length = self._rollout.rollout_length + 1
    arrays = {f"item_{i}": (np.stack([item[i] for item in leaves]) if leaves else
                            np.zeros((0, length) + tuple(spec.shape), spec.dtype.as_numpy_dtype))
              for i, spec in enumerate(specs)}
    return write_files(directory, arrays, {"size": len(self._items), "capacity": self._capacity})

  def load(self, directory: str) -> None:
    """Restores the items `save` wrote (verify first: local_replay.verify)."""
    with np.load(os.path.join(directory, FILE)) as data:
      state = json.loads(bytes(data["state"]).decode())
      leaves = [data[f"item_{i}"] for i in range(len(tf.nest.flatten(self._spec)))]
    self._items = collections.deque([leaf[n] for leaf in leaves] for n in range(state["size"]))
    self._rollout.clear()
