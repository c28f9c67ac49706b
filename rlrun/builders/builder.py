"""Builder: what one algorithm declares so the runner (and every distributed role) can train it.

The runner never branches on the algorithm. It asks the builder for:

  * the agent (`make_agent`) and which of its policies are exported (`policies`);
  * the replay table (`make_table`): signature, sampler, remover, rate limiter and
    max_times_sampled, from `replay.make_table`'s gin bindings unless the builder
    fixes them;
  * how experience is written (`make_writer`): items of `sequence_length` steps
    every `stride` steps (with `frame_stack`, each frame of stacked-frame observations
    stored once: see replay_buffers/frame_stacking.py);
  * how it is read (`make_dataset`): sampled batches of sequences, or one pass over a
    rollout;
  * the loop kind (`loop_kind`) and how many train steps make one iteration
    (`train_steps_per_iteration`).

The single-process Experiment and the replay-server, actor, learner and evaluator
roles all call the same methods.
"""

import enum
import sys
from typing import Any, Callable, Dict, Optional

import reverb
import tensorflow as tf

from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.replay_buffers import reverb_utils
from rlrun.replay_buffers.frame_stacking import FrameStacking
from rlrun.replay_buffers.local_replay import LocalReplay
from rlrun.replay_buffers.packing import PackedCodec
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer

TABLE_NAME = "uniform_table"
# A local replay that will grow past this when full gets a warning (it copies each item).
_LOCAL_REPLAY_WARN_BYTES = 4 * 2**30


class LoopKind(enum.Enum):
  """How collection and training alternate."""
  # Collect a group of iterations, train on batches sampled from everything so far.
  OFF_POLICY = "off-policy"
  # Collect one rollout, train on it (epochs of minibatches), discard it.
  ON_POLICY = "on-policy"


class Builder:
  """The base of every algorithm's builder; subclasses implement `make_agent`.

  Args:
    stride: environment steps between the starts of consecutive replay items.
    frame_stack: observations stack this many frames on their first axis (Atari's 4):
      the replay stores each frame once and rebuilds the stacks when sampling; 1: the
      replay stores observations as they are.
  """

  loop_kind = LoopKind.OFF_POLICY
  table_name = TABLE_NAME

  def __init__(self, stride: int = 1, frame_stack: int = 1):
    if stride < 1:
      raise ValueError(f"{type(self).__name__}.stride must be >= 1, got {stride}")
    if frame_stack < 1:
      raise ValueError(f"{type(self).__name__}.frame_stack must be >= 1, got {frame_stack}")
    self.stride = stride
    self.frame_stack = frame_stack

  @property
  def name(self) -> str:
    return type(self).__name__

  # ---- the agent -------------------------------------------------------------------

  def make_agent(self, time_step_spec, action_spec, train_step: tf.Variable, seed: int = 0):
    """The TFAgent for these specs, its variables created (agent.initialize() is called).

    `seed` is the run's: an agent that draws random numbers while training derives
    them from it (statelessly, with the train step, so a resume draws the same).

    Raises:
      ValueError: (one line) when the agent cannot handle the specs.
    """
    raise NotImplementedError

  def policies(self, agent) -> Dict[str, Any]:
    """The TF policies to export under <root>/policies, by directory name."""
    policies = {"policy": agent.policy, "collect_policy": agent.collect_policy}
    if not isinstance(agent.policy, GreedyPolicy):
      policies["greedy_policy"] = GreedyPolicy(agent.policy)
    return policies

  def sequence_length(self, agent) -> int:
    """Steps per replay item."""
    return agent.train_sequence_length

  def train_steps_per_iteration(self, settings) -> int:
    """Train steps (agent.train calls) one iteration runs."""
    return settings.train_steps_per_iteration

  def actor_steps_per_run(self, settings, pull_interval: int) -> int:
    """Environment steps a distributed actor collects between weight pulls."""
    del settings
    return pull_interval

  def check(self, settings) -> None:
    """Rejects settings this algorithm cannot run with (ValueError, one line).

    AgentParts.build calls it before make_agent; a builder that sizes its tables or
    writers from the settings (an on-policy rollout) takes what it needs here.
    """
    if settings.collect_parallel_envs > 1 and self.loop_kind is LoopKind.OFF_POLICY:
      raise ValueError(f"{self.name} collects from one environment per process "
                       f"(train.Experiment.collect_parallel_envs = "
                       f"{settings.collect_parallel_envs}); set it to 1 and add collecting "
                       "processes with --actors N")

  # ---- replay ----------------------------------------------------------------------

  def frame_stacking(self, agent) -> Optional[FrameStacking]:
    """How stacked frames are stored, or None (frame_stack = 1).

    Raises:
      ValueError: (one line) when the observations do not stack frame_stack frames.
    """
    if self.frame_stack == 1:
      return None
    return FrameStacking(agent.collect_data_spec, self.frame_stack)

  def replay_spec(self, agent) -> Any:
    """The spec of one stored step: the agent's collect_data_spec, or one frame of it."""
    stacking = self.frame_stacking(agent)
    return stacking.stored_spec if stacking else agent.collect_data_spec

  def replay_length(self, agent) -> int:
    """Stored steps per replay item: sequence_length, plus frame_stack - 1."""
    return self.sequence_length(agent) + self.frame_stack - 1

  def make_table(self, agent, **overrides) -> reverb.Table:
    """The replay table (replay.make_table's gin bindings, then `overrides`)."""
    return reverb_utils.make_table(self.table_name, self.replay_spec(agent),
                                   self.replay_length(agent), **overrides)

  def make_replay_buffer(self, agent, **server) -> ReverbReplayBuffer:
    """The table as a ReverbReplayBuffer (`server`: server_address= or local_server=)."""
    return ReverbReplayBuffer(self.replay_spec(agent), self.table_name,
                              self.replay_length(agent), **server)

  def make_writer(self, client: reverb.Client, agent, packed: bool,
                  timeout_s: Optional[float] = None):
    """The observer that writes collected Trajectories into the table."""
    spec = self.replay_spec(agent)
    return self.stacked_writer(agent, reverb_utils.ReverbAddTrajectoryObserver(
        client, self.table_name, self.replay_length(agent), stride_length=self.stride,
        codec=PackedCodec(spec) if packed else None, timeout_s=timeout_s))

  def stacked_writer(self, agent, observer):
    """`observer` (items of replay_length steps), fed one frame per step when stacking."""
    stacking = self.frame_stacking(agent)
    return stacking.writer(observer) if stacking else observer

  def _unstack(self, agent) -> Callable[[Any], Any]:
    stacking = self.frame_stacking(agent)
    return stacking.unstack if stacking else lambda stored: stored

  def make_local_replay(self, agent, table: reverb.Table, seed: int) -> LocalReplay:
    """The in-process table with `table`'s capacity (train.Experiment.replay = 'local').

    Raises:
      ValueError: for a table the local replay cannot stand in for (not uniform).
    """
    sampler = table.info.sampler_options.WhichOneof("distribution")
    if sampler != "uniform":
      raise ValueError(f"train.Experiment.replay = 'local' (and deterministic mode, and --fast) "
                       f"samples uniformly, but replay.make_table.sampler is {sampler!r}; use "
                       "sampler = 'uniform' (or, without deterministic mode and --fast, "
                       "replay = 'reverb')")
    replay = LocalReplay(self.replay_spec(agent), self.replay_length(agent), table.info.max_size,
                         seed=[seed, 1], stride=self.stride)
    if replay.bytes_at_capacity > _LOCAL_REPLAY_WARN_BYTES:
      sys.stderr.write(
          f"rlrun: warning: the local replay holds each step uncompressed: "
          f"{replay.bytes_at_capacity / 2**30:.1f} GiB at its {table.info.max_size:,} items; "
          "replay = 'reverb' compresses them, or lower replay.make_table.max_size\n")
    return replay

  def make_sampler(self, replay: LocalReplay, agent, settings) -> Callable[[int], Any]:
    """The learner's experience from a LocalReplay: count -> `count` stacked batches."""
    unstack = self._unstack(agent)
    return lambda count: unstack(replay.sample(settings.batch_size, count))

  def make_dataset(self, replay_buffer, agent, settings) -> tf.data.Dataset:
    """The learner's experience: batches of sequences sampled from the table."""
    # Room for two learner calls' worth of batches, so sampling keeps going while the
    # actor collects instead of stalling on a full buffer.
    prefetch = 2 * settings.iterations_per_call * self.train_steps_per_iteration(settings) + 2
    dataset = replay_buffer.as_dataset(sample_batch_size=settings.batch_size,
                                       num_steps=self.replay_length(agent), num_workers=2)
    if self.frame_stack > 1:
      unstack = self._unstack(agent)
      dataset = dataset.map(lambda data, info: (unstack(data), info))
    return dataset.prefetch(prefetch)
