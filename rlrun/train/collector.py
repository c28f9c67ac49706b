"""Collector: one environment, the collect policy and the replay writer; used by every collecting process."""

import math
from typing import Any, Callable, Dict, Optional

import numpy as np

from rlrun.builders.builder import LoopKind
from rlrun.policies.random_py_policy import RandomPyPolicy
from rlrun.train import env_state
from rlrun.train.actor import Actor
from rlrun.train.parts import AgentParts, collect_metrics, fast_py_policy
from rlrun.utils.blas_threads import use_one_blas_thread

# Random initial collection runs in pieces this long, so a stop request is noticed.
INITIAL_COLLECT_PIECE = 500


class Collector:
  """Collects with the agent's collect policy into `observer` (the builder's writer).

  Args:
    parts: the process's AgentParts (its env is the one collected from).
    observer: called with every Trajectory (the replay writer).
    steps_per_run: environment steps of one run() without an explicit count.
    summary_dir: where metric summaries go (None: none).
    rng_seed: seeds the collect policy's numpy generator (None: leave it).

  Building one limits numpy's BLAS to one thread in the process (utils/blas_threads.py).
  """

  def __init__(self, parts: AgentParts, observer: Callable, steps_per_run: int,
               summary_dir: Optional[str] = None, rng_seed: Any = None):
    settings = parts.settings
    use_one_blas_thread()
    self.parts = parts
    self.observer = observer
    self.policy = fast_py_policy(parts.agent.collect_policy, settings.numpy_actor,
                                 batch_time_steps=not parts.env.batched)
    if rng_seed is not None and getattr(self.policy, "rng", None) is not None:
      self.policy.rng.bit_generator.state = np.random.default_rng(rng_seed).bit_generator.state
    self.metrics = collect_metrics()
    self.initial_steps = 0  # random initial steps collected so far (resumes an interrupted one)
    self.actor = Actor(parts.env, self.policy, parts.iteration, steps_per_run=steps_per_run,
                       observers=[observer], metrics=self.metrics, summary_dir=summary_dir,
                       summary_interval=settings.summary_interval,
                       variable_client=self.policy if hasattr(self.policy, "update") else None,
                       count_boundaries=parts.builder.loop_kind is LoopKind.ON_POLICY)
    # A rollout writer (on-policy) writes the rollout when a run ends.
    self._end_run = getattr(observer, "end_run", None)

  @property
  def env_steps(self) -> int:
    return int(self.metrics[0].result())

  @property
  def episodes(self) -> int:
    return int(self.metrics[1].result())

  def initial_collect(self, steps: int, seed: int,
                      should_stop: Callable[[], bool] = lambda: False) -> int:
    """`steps` random-policy steps (also counted by the metrics); returns the steps taken."""
    env = self.parts.env
    random_policy = RandomPyPolicy(env.time_step_spec(), env.action_spec(), seed=seed)
    actor = Actor(env, random_policy, self.parts.iteration, steps_per_run=steps,
                  observers=[self.observer] + self.metrics)
    taken = 0
    for _ in range(math.ceil(steps / INITIAL_COLLECT_PIECE)):
      if should_stop():
        break
      piece = min(INITIAL_COLLECT_PIECE, steps - taken)
      actor.run(steps=piece)
      taken += piece
      self.initial_steps += piece
    # The collect policy starts its own episode: the random one's may be half done, and
    # the replay writer drops it (no item may span the two).
    self.actor.reset()
    reset = getattr(self.observer, "reset", None)
    if reset is not None:
      reset()
    return taken

  def run(self, steps: Optional[int] = None, pull_weights: bool = True) -> None:
    reset_noise = getattr(self.policy, "reset_noise", None)
    if reset_noise is not None:
      reset_noise()  # gSDE: each run (a rollout, for PPO) draws its own noise
    self.actor.run(steps=steps, pull_weights=pull_weights)
    if self._end_run is not None:
      self._end_run(self.actor.time_step)

  def pull_weights(self) -> None:
    self.actor.pull_weights()

  def snapshot(self) -> bytes:
    """The environment's exact state and where its episode stands (deterministic runs)."""
    return env_state.snapshot(self.actor.episode_state())

  def restore_snapshot(self, blob: bytes) -> None:
    env, time_step, policy_state = env_state.load(blob)
    self.parts.env.close()
    self.parts.env = env
    self.actor.set_episode_state(env, time_step, policy_state)

  def write_summaries(self) -> None:
    self.actor.write_metric_summaries()

  # ---- checkpointed state ----------------------------------------------------------

  def state(self) -> Dict[str, Any]:
    state = {"metrics": {m.name: m.get_state() for m in self.metrics},
             "initial_steps": self.initial_steps}
    rng = getattr(self.policy, "rng", None)
    if rng is not None:
      state["collect_rng"] = rng.bit_generator.state
    return state

  def restore_state(self, state: Dict[str, Any]) -> None:
    self.initial_steps = int(state.get("initial_steps", 0))
    for metric in self.metrics:
      if metric.name in state.get("metrics", {}):
        metric.set_state(state["metrics"][metric.name])
    rng = getattr(self.policy, "rng", None)
    if rng is not None and "collect_rng" in state:
      rng.bit_generator.state = state["collect_rng"]
