"""RolloutWriter: writes each environment's part of a rollout to Reverb as one item.

An on-policy learner trains on whole rollouts: per environment, the T steps collected
since the last rollout and one more step whose observation bootstraps the value at the
rollout's end. The collector feeds the writer every (batched) Trajectory and, when the
rollout is complete, calls `end_run(time_step)` with the time step it would act on
next; the writer then inserts one [T + 1]-step item per environment. Items may span
episodes (the boundary steps inside mark where one ends).
"""

import logging
import math
from typing import List, Optional

import numpy as np
import reverb
import tensorflow as tf

from rlrun.replay_buffers.reverb_utils import WriteTimeout
from rlrun.trajectories import trajectory as trajectory_lib


class Rollout:
  """The Trajectories of one rollout, and its items: per environment, [T + 1] steps.

  Args:
    num_envs: the environments stepped together (the Trajectories' batch size; 1 for
      an unbatched environment).
    rollout_length: T, the steps per environment in one rollout.
  """

  def __init__(self, num_envs: int, rollout_length: int):
    if num_envs < 1 or rollout_length < 1:
      raise ValueError(f"num_envs ({num_envs}) and rollout_length ({rollout_length}) must be "
                       ">= 1")
    self.num_envs = num_envs
    self.rollout_length = rollout_length
    self._steps: List[List[np.ndarray]] = []  # per step, its flat fields [num_envs, ...]
    self._structure = None  # the first Trajectory added (the nest the fields flatten from)

  def add(self, trajectory) -> None:
    # Copies: an environment may reuse its observation buffer between steps.
    leaves = [np.array(x) for x in tf.nest.flatten(trajectory)]
    if self._structure is None:
      self._structure = trajectory
    if np.ndim(trajectory.step_type) == 0:
      leaves = [x[None] for x in leaves]
    self._steps.append(leaves)

  def clear(self) -> None:
    self._steps = []

  def items(self, time_step) -> List[List[np.ndarray]]:
    """Per environment, its item: the fields of the data spec in tf.nest.flatten order,
    each [T + 1, ...]; the last step carries `time_step`'s observation (the bootstrap).
    Clears the rollout.

    Raises:
      ValueError: when the rollout does not hold exactly rollout_length steps.
    """
    if len(self._steps) != self.rollout_length:
      raise ValueError(f"a rollout has {len(self._steps)} steps per environment, expected "
                       f"{self.rollout_length}")
    last = tf.nest.pack_sequence_as(self._structure, self._steps[-1])
    step_type = np.reshape(np.asarray(time_step.step_type), [-1])
    bootstrap = trajectory_lib.Trajectory(
        step_type=step_type,
        observation=tf.nest.map_structure(lambda x, o: np.reshape(np.asarray(o), x.shape),
                                          last.observation, time_step.observation),
        action=tf.nest.map_structure(np.zeros_like, last.action),
        policy_info=tf.nest.map_structure(np.zeros_like, last.policy_info),
        next_step_type=step_type, reward=np.zeros_like(last.reward),
        discount=np.zeros_like(last.discount))
    # [T + 1, num_envs, ...] per field, then one item per environment.
    fields = [np.stack(column) for column in zip(*self._steps, tf.nest.flatten(bootstrap))]
    self._steps = []
    return [[field[:, i] for field in fields] for i in range(self.num_envs)]


class RolloutWriter:
  """Collects a rollout's Trajectories and writes one item per environment at its end.

  Args:
    py_client: a reverb.Client.
    table_name: the rollout table (a queue: each item is read once).
    num_envs: the environments stepped together (the Trajectories' batch size; 1 for
      an unbatched environment).
    rollout_length: T, the steps per environment in one rollout.
    timeout_s: the longest a write may block (None: no limit). A write that times out
      raises WriteTimeout; calling `end_run` again writes the items not yet written.
  """

  def __init__(self, py_client: reverb.Client, table_name: str, num_envs: int,
               rollout_length: int, timeout_s: Optional[float] = None):
    self._rollout = Rollout(num_envs, rollout_length)
    self._client = py_client
    self._table = table_name
    self._timeout_s = timeout_s
    self._pending: Optional[list] = None  # per environment: the item still to write
    self._created = False  # the first pending item is created, awaiting confirmation
    self._priority = 1.0
    # Each item is appended as one step whose fields hold the whole [T + 1] series: one
    # append per item, not T + 1 (the item's columns are then exactly [T + 1, ...]).
    self._writer = py_client.trajectory_writer(num_keep_alive_refs=1)

  def __call__(self, trajectory) -> None:
    if self._pending is not None:
      raise RuntimeError("a rollout's items are still to be written: call end_run again")
    self._rollout.add(trajectory)

  def stamp(self, train_step: int) -> None:
    """Rollouts written from now on carry `train_step` as their priority (a queue's sampler
    and remover ignore it): the learner reads their staleness from it."""
    self._priority = float(train_step)

  def end_run(self, time_step) -> None:
    """Writes the rollout, bootstrapped by `time_step` (the next one to act on).

    Raises:
      ValueError: when the rollout does not hold exactly rollout_length steps.
      WriteTimeout: with timeout_s, when the server does not take the items in time.
    """
    if self._pending is None:
      self._pending = self._rollout.items(time_step)
    while self._pending:
      if not self._created:
        self._create(self._pending[0])
        self._created = True
      self._confirm()  # on a timeout the item stays pending, created: a retry only confirms
      self._created = False
      self._pending.pop(0)
    self._pending = None

  def _create(self, fields: List[np.ndarray]) -> None:
    self._writer.append(fields)
    self._writer.create_item(self._table, self._priority,
                             [column[-1] for column in self._writer.history])

  def _confirm(self) -> None:
    timeout_ms = None if self._timeout_s is None else max(1, math.ceil(self._timeout_s * 1000))
    try:
      self._writer.end_episode(clear_buffers=True, timeout_ms=timeout_ms)
    except reverb.errors.DeadlineExceededError as e:
      raise WriteTimeout(f"writing a rollout to Reverb table {self._table!r} at "
                         f"{self._client.server_address} did not finish within "
                         f"{self._timeout_s:g} s: the server is not answering, or the "
                         "learner has not taken the previous rollouts") from e

  def flush(self) -> None:
    """Every written item is confirmed when end_run returns; nothing is buffered."""

  def reset(self) -> None:
    """Drops the partial rollout (e.g. after an environment reset outside the driver)."""
    self._rollout.clear()
    self._pending = None
    self._created = False

  def close(self) -> None:
    try:
      self._writer.close()
    except Exception as e:  # pylint: disable=broad-except
      logging.warning("closing the Reverb writer failed: %s", e)
