"""The loop's settings: one typed, validated object, bound in gin as `train.Experiment.*`.

Every count of the loop is in **iterations**. One iteration collects
`collect_steps_per_iteration` environment steps and runs `train_steps_per_iteration`
train steps (for an on-policy builder: one rollout and the epochs over it).
`num_iterations`, every `*_interval`, the progress line, evaluation records and
TensorBoard's x-axis all count iterations; the agent's own train-step counter is
`iterations * train_steps_per_iteration`.
"""

import dataclasses
import os
from typing import Any, Callable, List, Optional

import gin


# Iterations per call under `fast`: the group size of bench_peers.py's fastest rlrun side.
FAST_ITERATIONS_PER_CALL = 32


@gin.configurable("Experiment", module="train")
@dataclasses.dataclass
class Settings:
  """What one run does and how often; see the module docstring for the unit.

  Args:
    env_fn: builds a PyEnvironment (e.g. @suite_gym.load with its name bound).
    builder: the algorithm's builder (e.g. @builders.DqnBuilder()); it declares the
      agent, the replay tables, how experience is written and read, and the loop kind.
    agent_fn: shorthand for `builder = @builders.OffPolicyBuilder()` with this agent
      function ((time_step_spec, action_spec, train_step_counter) -> TFAgent).
    num_iterations: iterations to train for.
    initial_collect_steps: random-policy environment steps collected before training.
    collect_steps_per_iteration: environment steps per iteration (summed over the
      collect environments; for an on-policy builder, the rollout: every environment
      call counts, so each environment steps collect_steps_per_iteration /
      collect_parallel_envs times).
    collect_parallel_envs: environments each collecting process steps together, as
      one batch (on-policy builders; off-policy ones collect from one).
    collect_envs_in_processes: step the collect environments each in its own process
      (worth it when an environment step costs more than ~1 ms).
    train_steps_per_iteration: train steps per iteration.
    batch_size: experience batch size.
    iterations_per_call: iterations grouped into one actor run and one learner call
      (execution, not learning: the collect policy's weights refresh once per group).
    eval_interval: iterations between evaluations (0: only at the end).
    num_eval_episodes: episodes per evaluation.
    eval_parallel_envs: evaluation environments stepped in lockstep.
    eval_epsilon: the probability that an evaluation action is uniformly random instead
      of the policy's (0: greedy; Atari's protocol evaluates with 0.001).
    log_interval: iterations between progress lines when stdout is not a terminal.
    summary_interval: iterations between TensorBoard summaries.
    checkpoint_interval: iterations between checkpoints (agent and replay).
    policy_save_interval: iterations between SavedModel exports.
    policy_snapshots: how many policies/step_<N> copies of the greedy policy (one per
      export) are kept, the newest (0: none).
    keep_best_policy: export the greedy policy to policies/best whenever an evaluation
      beats every earlier one (single-process runs).
    use_xla: XLA-compile the train loop.
    numpy_actor: act with a numpy mirror of the policy network where possible.
    seed: seeds environments, TF and numpy.
    importance_exponent: beta of the importance weights of a prioritized table.
    overlap_collection: collect the next group in a thread while the learner trains.
    intra_op_threads: threads TensorFlow splits each op over in a single-process run
      (None: one per core, or under `fast` one core fewer; distributed roles keep
      TensorFlow's default). One leaves a core to an overlapped collection's heavy
      environment (sac_minitaur.gin); it applies from the process's first TensorFlow op
      (rlrun/utils/tf_threads.py).
    strategy: the tf.distribute strategy by name ('default' or 'mirrored').
    replay: where replay lives in a single-process run: 'reverb' (an in-process Reverb
      server, as distributed training uses) or 'local' (rlrun's in-process table:
      seeded synchronous sampling, faster for small items; uniform sampling only).
    max_episode_steps: the most steps of any episode, in collection and evaluation (None:
      the environment's own limit, or 10000 with a warning when it has none).
    deterministic: make the run reproducible bit for bit (`rlrun train
      --deterministic`): local replay, TensorFlow's deterministic ops, evaluation
      environments reseeded per evaluation, and the collect environment's state saved
      in every checkpoint (it must pickle), so two runs of the same config, and a run
      resumed from any of its checkpoints, write identical results and checkpoints.
    fast: single-process speed settings (`rlrun train --fast`): the in-process replay
      (replay = 'local') and, for an off-policy builder, FAST_ITERATIONS_PER_CALL
      iterations per call with the next group collected while the learner trains
      (overlap_collection), so the policy that collects is up to one group of train
      steps older; unless intra_op_threads is set to a number, the learner's ops then
      split over one core fewer than the machine has (fast_learner_threads). Not with
      deterministic runs, a non-default strategy, --actors or a prioritized table (the
      in-process replay samples uniformly).
  """
  env_fn: Callable[..., Any] = gin.REQUIRED
  builder: Any = None
  agent_fn: Optional[Callable[..., Any]] = None
  num_iterations: int = 20000
  initial_collect_steps: int = 100
  collect_steps_per_iteration: int = 1
  collect_parallel_envs: int = 1
  collect_envs_in_processes: bool = False
  train_steps_per_iteration: int = 1
  batch_size: int = 64
  iterations_per_call: int = 8
  eval_interval: int = 1000
  num_eval_episodes: int = 10
  eval_parallel_envs: int = 10
  eval_epsilon: float = 0.0
  log_interval: int = 200
  summary_interval: int = 1000
  checkpoint_interval: int = 5000
  policy_save_interval: int = 5000
  policy_snapshots: int = 5
  keep_best_policy: bool = True
  use_xla: bool = True
  numpy_actor: bool = True
  seed: int = 0
  importance_exponent: float = 0.4
  overlap_collection: bool = False
  intra_op_threads: Optional[int] = None
  strategy: str = "default"
  replay: str = "reverb"
  max_episode_steps: Optional[int] = None
  deterministic: bool = False
  fast: bool = False
  # True when `fast` chose intra_op_threads (not a gin parameter).
  threads_set_by_fast: bool = dataclasses.field(default=False, init=False, repr=False)

  def __post_init__(self):
    problems = _type_problems(self)
    mistyped = {p.split()[0].rsplit(".", 1)[-1] for p in problems}
    for name in ("num_iterations", "batch_size", "iterations_per_call",
                 "collect_steps_per_iteration", "collect_parallel_envs",
                 "train_steps_per_iteration",
                 "num_eval_episodes", "eval_parallel_envs", "log_interval", "summary_interval",
                 "checkpoint_interval", "policy_save_interval"):
      if name not in mistyped and getattr(self, name) < 1:
        problems.append(f"train.Experiment.{name} must be >= 1, got {getattr(self, name)}")
    for name in ("initial_collect_steps", "eval_interval", "seed", "policy_snapshots"):
      if name not in mistyped and getattr(self, name) < 0:
        problems.append(f"train.Experiment.{name} must be >= 0, got {getattr(self, name)}")
    if self.builder is None and self.agent_fn is None:
      problems.append("train.Experiment needs a builder (e.g. train.Experiment.builder = "
                      "@builders.DqnBuilder()) or an agent_fn")
    if self.builder is not None and self.agent_fn is not None:
      problems.append("train.Experiment.builder and train.Experiment.agent_fn are both bound; "
                      "bind the agent function on the builder (builders.<Name>.agent_fn)")
    if self.replay not in REPLAYS:
      problems.append(f"train.Experiment.replay must be one of "
                      f"{', '.join(map(repr, REPLAYS))}, got {self.replay!r}")
    if self.deterministic is True:
      if self.overlap_collection:
        problems.append("train.Experiment.deterministic runs cannot overlap collection with "
                        "training (the order of inserts would vary): set "
                        "train.Experiment.overlap_collection = False")
      if self.strategy != "default":
        problems.append("train.Experiment.deterministic runs need train.Experiment.strategy = "
                        f"'default', got {self.strategy!r}")
    if self.fast is True:
      if self.deterministic is True:
        problems.append("train.Experiment.fast (--fast) and train.Experiment.deterministic "
                        "(--deterministic) are two different single-process modes: drop --fast "
                        "or --deterministic")
      if self.strategy != "default":
        problems.append("train.Experiment.fast (--fast) trains from the in-process replay, "
                        "which runs under the default strategy only: drop --fast or --gpu "
                        f"(train.Experiment.strategy = {self.strategy!r})")
    if problems:
      raise SettingsProblems(problems)
    if self.builder is None:
      from rlrun.builders.off_policy import OffPolicyBuilder
      self.builder = OffPolicyBuilder(agent_fn=self.agent_fn)
    if self.deterministic:
      self.replay = "local"
    if self.fast:
      self._apply_fast()
    self.eval_parallel_envs = min(self.eval_parallel_envs, self.num_eval_episodes)

  def _apply_fast(self) -> None:
    """What `fast` sets (see the class docstring); an on-policy loop keeps its rollouts
    from the current policy, so it only moves to the in-process replay."""
    from rlrun.builders.builder import LoopKind
    self.replay = "local"
    if getattr(self.builder, "loop_kind", None) is LoopKind.OFF_POLICY:
      self.iterations_per_call = FAST_ITERATIONS_PER_CALL
      self.overlap_collection = True
      if self.intra_op_threads is None:
        # The learner's ops leave a core to the thread that collects the next group.
        self.intra_op_threads = fast_learner_threads()
        self.threads_set_by_fast = True

  # ---- the loop's unit ---------------------------------------------------------------

  def iteration_of(self, train_step: int) -> int:
    """The iteration a train-step count belongs to."""
    return int(train_step) // self.train_steps_per_iteration

  def train_step_of(self, iteration: int) -> int:
    return int(iteration) * self.train_steps_per_iteration


def fast_learner_threads() -> int:
  """The intra-op threads `fast` gives the learner: all cores but the collecting thread's.

  On 2 cores (one thread, BENCHMARKS.md "--fast and the learner's threads"), the overlapped
  loop ran 1.10x as fast as with TensorFlow's default split on sac_pendulum.gin and
  1.03-1.25x per round on td3_pendulum.gin; dqn_cartpole.gin's small network neither
  gained nor lost.
  """
  return max(1, (os.cpu_count() or 1) - 1)


_INTS = ("num_iterations", "initial_collect_steps", "collect_steps_per_iteration",
         "collect_parallel_envs",
         "train_steps_per_iteration", "batch_size", "iterations_per_call", "eval_interval",
         "num_eval_episodes", "eval_parallel_envs", "log_interval", "summary_interval",
         "checkpoint_interval", "policy_save_interval", "seed", "policy_snapshots")
_BOOLS = ("use_xla", "numpy_actor", "overlap_collection", "deterministic", "fast",
          "collect_envs_in_processes", "keep_best_policy")
REPLAYS = ("reverb", "local")


class SettingsProblems(ValueError):
  """Every problem of the settings, one per item; its message is the first (a run stops at
  it, `rlrun check` lists them all)."""

  def __init__(self, problems: List[str]):
    super().__init__(problems[0])
    self.problems = list(problems)

  def __reduce__(self):
    return SettingsProblems, (self.problems,)


def _type_problems(settings: Settings) -> List[str]:
  """Wrong-type values, named by their binding (not found deep inside TensorFlow later)."""
  problems = []
  for name in _INTS:
    value = getattr(settings, name)
    if isinstance(value, bool) or not isinstance(value, int):
      problems.append(f"train.Experiment.{name} must be an integer, got {value!r}")
  for name in _BOOLS:
    if not isinstance(getattr(settings, name), bool):
      problems.append(f"train.Experiment.{name} must be True or False, got "
                      f"{getattr(settings, name)!r}")
  value = settings.importance_exponent
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    problems.append(f"train.Experiment.importance_exponent must be a number, got {value!r}")
  value = settings.eval_epsilon
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
    problems.append(f"train.Experiment.eval_epsilon must be a probability in [0, 1] (0: greedy "
                    f"evaluation), got {value!r}")
  for name, none_means in (("max_episode_steps", "the environment's own limit"),
                           ("intra_op_threads", "one per core")):
    value = getattr(settings, name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
      problems.append(f"train.Experiment.{name} must be a positive integer or None "
                      f"({none_means}), got {value!r}")
  if not isinstance(settings.strategy, str):
    problems.append(f"train.Experiment.strategy must be a name ('default' or 'mirrored'), got "
                    f"{settings.strategy!r}")
  if not callable(settings.env_fn):
    problems.append(f"train.Experiment.env_fn must be a function (e.g. @suite_gym.load), got "
                    f"{settings.env_fn!r}")
  return problems
