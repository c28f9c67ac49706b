"""Builders of the on-policy agents: PPO (whole rollouts through a Reverb queue, read once)."""

from typing import Any, Callable, Optional

import gin
import reverb
import tensorflow as tf

from rlrun.agents.ppo_agent import create_ppo_agent
from rlrun.builders.builder import Builder, LoopKind
from rlrun.builders.off_policy import takes
from rlrun.replay_buffers import reverb_utils
from rlrun.replay_buffers.local_rollouts import LocalRollouts
from rlrun.replay_buffers.rollout_writer import RolloutWriter


@gin.configurable(module="builders")
class PpoBuilder(Builder):
  """PPO: agents.create_ppo_agent (its actor and value networks and agents.PpoAgent bindings).

  One iteration collects a rollout of train.Experiment.collect_steps_per_iteration steps
  from train.Experiment.collect_parallel_envs environments (T = steps / envs each),
  writes one [T + 1]-step item per environment into a queue table that hands each item
  out once, and runs one PPO update on them (agents.PpoAgent.num_epochs passes in
  minibatches of train.Experiment.batch_size steps). With --actors N the actors fill
  the queue and the learner takes rollouts as they come.

  Args:
    agent_fn: (time_step_spec, action_spec, train_step_counter, minibatch_size, seed)
      -> PpoAgent.
    queue_rollouts: rollouts the queue holds before writers wait for the learner.
  """

  loop_kind = LoopKind.ON_POLICY
  table_name = "rollouts"

  def __init__(self, agent_fn: Callable[..., Any] = create_ppo_agent, queue_rollouts: int = 2):
    super().__init__(stride=1)
    if queue_rollouts < 1:
      raise ValueError(f"PpoBuilder.queue_rollouts must be >= 1, got {queue_rollouts}")
    self.agent_fn = agent_fn
    self.queue_rollouts = queue_rollouts
    self._envs = 1
    self._rollout_length = 1
    self._minibatch_size: Optional[int] = None

  def check(self, settings) -> None:
    super().check(settings)
    envs, steps, minibatch = (settings.collect_parallel_envs, settings.collect_steps_per_iteration,
                              settings.batch_size)
    if steps < envs:
      raise ValueError(f"PpoBuilder: the rollout of {steps} steps "
                       f"(train.Experiment.collect_steps_per_iteration) is shorter than one step "
                       f"per collect environment (train.Experiment.collect_parallel_envs = {envs});"
                       f" it needs at least {envs}, a multiple of {envs}")
    if steps % envs:
      raise ValueError(f"PpoBuilder: the rollout (train.Experiment.collect_steps_per_iteration = "
                       f"{steps}) must be a whole number of steps per collect environment "
                       f"(train.Experiment.collect_parallel_envs = {envs}); use a multiple of "
                       f"{envs}")
    if steps % minibatch:
      raise ValueError(f"PpoBuilder: the minibatch size (train.Experiment.batch_size = "
                       f"{minibatch}) does not divide the rollout of {steps} steps "
                       "(train.Experiment.collect_steps_per_iteration); choose a divisor of "
                       f"{steps}")
    needs = (("initial_collect_steps", 0, "PPO collects no random initial steps"),
             ("train_steps_per_iteration", 1, "one iteration is one PPO update of "
              "agents.PpoAgent.num_epochs passes"),
             ("overlap_collection", False, "each rollout must come from the current policy"),
             ("strategy", "default", "the update runs on one device"))
    for name, value, why in needs:
      if getattr(settings, name) != value:
        raise ValueError(f"PpoBuilder: {why}; set train.Experiment.{name} = {value!r} (got "
                         f"{getattr(settings, name)!r})")
    self._envs, self._rollout_length, self._minibatch_size = envs, steps // envs, minibatch

  def make_agent(self, time_step_spec, action_spec, train_step: tf.Variable, seed: int = 0):
    kwargs = {name: value for name, value in (("seed", seed),
                                              ("minibatch_size", self._minibatch_size))
              if takes(self.agent_fn, name)}
    agent = self.agent_fn(time_step_spec, action_spec, train_step_counter=train_step, **kwargs)
    agent.initialize()
    return agent

  def sequence_length(self, agent) -> int:
    del agent
    return self._rollout_length + 1

  def actor_steps_per_run(self, settings, pull_interval: int) -> int:
    del pull_interval
    return settings.collect_steps_per_iteration  # one rollout per set of weights

  def train_steps_per_iteration(self, settings) -> int:
    del settings
    return 1

  def make_table(self, agent, **overrides) -> reverb.Table:
    capacity = self._envs * self.queue_rollouts
    limiter = overrides.get("rate_limiter", reverb.rate_limiters.Queue(capacity))
    return reverb.Table(
        self.table_name, sampler=reverb.selectors.Fifo(), remover=reverb.selectors.Fifo(),
        max_size=capacity, max_times_sampled=1,
        rate_limiter=limiter or reverb.rate_limiters.MinSize(1),
        signature=reverb_utils.table_signature(agent.collect_data_spec,
                                               self.sequence_length(agent), packed=False))

  def make_writer(self, client: reverb.Client, agent, packed: bool,
                  timeout_s: Optional[float] = None):
    del agent, packed
    return RolloutWriter(client, self.table_name, self._envs, self._rollout_length,
                         timeout_s=timeout_s)

  def make_local_replay(self, agent, table, seed: int) -> LocalRollouts:
    del seed  # a queue hands items out in order: nothing is drawn
    return LocalRollouts(agent.collect_data_spec, self._envs, self._rollout_length,
                         capacity=table.info.max_size)

  def make_sampler(self, replay: LocalRollouts, agent, settings) -> Callable[[int], Any]:
    del settings
    return replay.sample

  def make_dataset(self, replay_buffer, agent, settings) -> tf.data.Dataset:
    del settings
    return replay_buffer.as_dataset(sample_batch_size=self._envs,
                                    num_steps=self.sequence_length(agent), num_workers=1,
                                    max_in_flight_samples_per_worker=self._envs)
