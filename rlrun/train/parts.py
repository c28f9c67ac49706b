"""The pieces every process of a run builds the same way: environments, the agent, policies.

`AgentParts.build(settings, env_index)` is what the single-process run, the learner,
the actors, the evaluator and the replay server (for the specs and table) share.
"""

import dataclasses
import random
from typing import Any, Dict, List, Optional

import numpy as np
import tensorflow as tf

from rlrun.environments.episode_limits import EnvMaker, limit_episodes
from rlrun.configs import imported_modules
from rlrun.environments.plain_envs import to_py_environment
from rlrun.metrics import py_metrics
from rlrun.policies.py_tf_eager_policy import PyTFEagerPolicy
from rlrun.specs import tensor_spec
from rlrun.train import strategies

# Environment indices: collection 0, evaluation 1000, actors 2000 (+ their own index);
# environment `index` of a run is seeded with env_seed(seed, index).
EVAL_ENV_OFFSET = 1000
ACTOR_ENV_OFFSET = 2000


def env_seed(seed: int, index: int) -> int:
  """The seed of a run's environment `index`, drawn from (seed, index).

  Adding the index to the run's seed would share environments between runs: run 1's
  evaluation environment 0 would start every episode where run 0's environment 1 does,
  and the seeds of a study would not be independent samples.
  """
  return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
  """Seeds Python, numpy, TensorFlow and Keras.

  tf.random.set_seed alone leaves Keras initializers without a seed: Keras 2.15 draws
  their seeds from Python's `random`, or from the generator set_random_seed installs
  (thread-local: call this in the thread that builds the networks).
  """
  tf.keras.utils.set_random_seed(int(seed))


def make_env(settings, index: int = 0):
  """An environment seeded with env_seed(settings.seed, index), whose episodes always end.

  train.Experiment.max_episode_steps (when set) caps every episode; an environment with
  no time limit of its own gets episode_limits.DEFAULT_EPISODE_STEPS, with a one-time
  warning, so neither collection nor evaluation can run one episode forever.
  """
  env = limit_episodes(to_py_environment(settings.env_fn()), settings.max_episode_steps)
  env.seed(env_seed(settings.seed, index))
  return env


def qualified_name(function) -> str:
  """'module.name' of a function or class (how ENV_LOADERS names the suites)."""
  return f"{getattr(function, '__module__', '')}.{getattr(function, '__name__', '')}"


# Built in, and slow to make: their outputs are not checked before a run.
_TRUSTED_LOADERS = ("rlrun.environments.suite_pybullet.load", "rlrun.environments.suite_atari.load")


def check_env_outputs(settings) -> None:
  """Resets and steps a fresh environment once, so that one whose observations do not match
  its spaces is refused before a run starts (rlrun's PyBullet and Atari suites are not
  checked: they are built in and slow to make).

  Raises:
    ValueError: naming the field and what the environment returned.
  """
  name = qualified_name(settings.env_fn)
  if name in _TRUSTED_LOADERS:
    return
  # The run's random numbers stay as seeded: an env may draw from the global generators.
  python_state, numpy_state = random.getstate(), np.random.get_state()
  env = make_env(settings)
  try:
    spec = env.action_spec()
    action = tf.nest.map_structure(
        lambda s: np.clip(np.zeros(s.shape, s.dtype), getattr(s, "minimum", 0),
                          getattr(s, "maximum", 0)).astype(s.dtype), spec)
    env.reset()
    env.step(action)
  except ValueError as e:
    raise ValueError(f"{e} (found by one reset and one step of the environment before the "
                     "run)") from None
  finally:
    try:
      env.close()
    finally:
      random.setstate(python_state)
      np.random.set_state(numpy_state)


# Collect environment j of a process is environment index + j * COLLECT_ENV_SEED_STRIDE.
COLLECT_ENV_SEED_STRIDE = 100003


def make_collect_env(settings, index: int = 0):
  """The process's collect environment: one, or settings.collect_parallel_envs batched
  together (each in its own process with settings.collect_envs_in_processes)."""
  count = settings.collect_parallel_envs
  if count == 1:
    return make_env(settings, index)
  from rlrun.environments.batched_py_environment import BatchedPyEnvironment
  indices = [index + j * COLLECT_ENV_SEED_STRIDE for j in range(count)]
  if not settings.collect_envs_in_processes:
    return BatchedPyEnvironment([make_env(settings, i) for i in indices])
  loader = env_loader(settings.env_fn)
  if not loader:
    raise ValueError("train.Experiment.collect_envs_in_processes needs env_fn = one of "
                     "rlrun's suites (@suite_gym.load, @suite_pybullet.load, "
                     "@suite_gymnasium.load, @suite_atari.load) bound to plain values, lists "
                     "and dicts; set collect_envs_in_processes = False")
  from rlrun.environments.parallel_py_environment import ParallelPyEnvironment
  # The subprocesses have no gin bindings (nor TensorFlow): the loader and its arguments
  # travel explicitly.
  return ParallelPyEnvironment([
      EnvMaker(loader["env_loader"], loader["env_kwargs"], settings.max_episode_steps,
               env_seed(settings.seed, i), imported_modules()) for i in indices])


def fast_py_policy(tf_policy, use_numpy: bool = True, batch_time_steps: bool = True):
  """The cheapest numpy-callable form of a TF policy: a numpy mirror if one exists.

  Numpy mirrors accept batched and unbatched time steps; the tf.function fallback
  adds a batch dim of 1 only when `batch_time_steps`.
  """
  fast = tf_policy.as_numpy_policy() if use_numpy else None
  if fast is not None:
    return fast
  return PyTFEagerPolicy(tf_policy, use_tf_function=True, batch_time_steps=batch_time_steps)


def eval_py_policy(agent, settings):
  """What evaluations act with: the agent's policy in its cheapest numpy-callable form,
  acting at random with probability settings.eval_epsilon (seeded from the run's seed)."""
  policy = fast_py_policy(agent.policy, settings.numpy_actor, batch_time_steps=False)
  if not settings.eval_epsilon:
    return policy
  from rlrun.policies.epsilon_greedy_py_policy import EpsilonGreedyPyPolicy
  return EpsilonGreedyPyPolicy(policy, settings.eval_epsilon, seed=settings.seed + EVAL_ENV_OFFSET,
                               action_spec=tensor_spec.to_nest_array_spec(agent.action_spec))


def collect_metrics() -> List[py_metrics.PyStepMetric]:
  """The metrics every collecting actor keeps."""
  return [py_metrics.EnvironmentSteps(), py_metrics.NumberOfEpisodes(),
          py_metrics.AverageReturnMetric(), py_metrics.AverageEpisodeLengthMetric()]


# The environment loaders a saved policy may name: eval imports nothing else from metadata.
ENV_LOADERS = ("rlrun.environments.suite_gym.load", "rlrun.environments.suite_pybullet.load",
               "rlrun.environments.suite_gymnasium.load", "rlrun.environments.suite_atari.load")
_PLAIN = (str, int, float, bool, type(None))


def _json_value(value: Any) -> bool:
  """Whether `value` comes back the same from the policy's JSON metadata."""
  if isinstance(value, list):  # not tuples: JSON would hand them back as lists
    return all(_json_value(v) for v in value)
  if isinstance(value, dict):
    return all(isinstance(k, str) and _json_value(v) for k, v in value.items())
  return isinstance(value, _PLAIN)


def env_loader(env_fn) -> Dict[str, Any]:
  """{'env_loader': 'module.function', 'env_kwargs': {...}} when `env_fn` is one of rlrun's
  suites bound in gin only to values JSON gives back (plain values, lists and dicts of them);
  {} otherwise (eval then rebuilds the env by its id, or from the run's config)."""
  import gin
  name = qualified_name(env_fn)
  if name not in ENV_LOADERS:
    return {}
  kwargs = gin.get_bindings(env_fn)
  if not all(_json_value(v) for v in kwargs.values()):
    return {}
  return {"env_loader": name, "env_kwargs": kwargs}


def env_suite(env_fn) -> str:
  """Which suite built the run's environment: 'gym', 'pybullet', 'gymnasium' or 'atari' (one
  of ENV_LOADERS), else 'custom'."""
  name = qualified_name(env_fn)
  return name.split(".")[-2].replace("suite_", "") if name in ENV_LOADERS else "custom"


def gym_api(env) -> Optional[str]:
  """'gymnasium' or 'gym' (0.23) for an environment that wraps one of theirs, else None."""
  from rlrun.environments.gymnasium_wrapper import GymnasiumWrapper
  from rlrun.environments.gym_wrapper import GymWrapper
  inner = env
  while inner is not None and not isinstance(inner, GymWrapper):
    inner = getattr(inner, "_env", None)
  if inner is None:
    return None
  return "gymnasium" if isinstance(inner, GymnasiumWrapper) else "gym"


@dataclasses.dataclass
class AgentParts:
  """One process's environment, agent and counters.

  Attributes:
    settings: the run's train.Experiment settings.
    builder: the algorithm's builder.
    env: the environment (seeded with env_seed(seed, env_index)).
    strategy: the tf.distribute strategy the agent was built under.
    train_step: the agent's train-step counter.
    iteration: the loop's iteration counter (summaries' x-axis; see settings.py).
    agent: the TFAgent, its variables created.
  """
  settings: Any
  builder: Any
  env: Any
  strategy: tf.distribute.Strategy
  train_step: tf.Variable
  iteration: tf.Variable
  agent: Any

  @classmethod
  def build(cls, settings, env_index: int = 0, strategy: Optional[str] = None,
            collecting: bool = True) -> "AgentParts":
    """Seeds, makes the environment and builds the agent.

    `strategy` overrides the configured one (processes that only act use 'default').
    A process that does not collect (`collecting=False`) gets one environment, not the
    collect_parallel_envs a collecting process steps.
    """
    seed_everything(settings.seed)
    if settings.deterministic:
      tf.config.experimental.enable_op_determinism()
    builder = settings.builder
    builder.check(settings)
    strategy_obj = strategies.make_strategy(strategy or settings.strategy)
    env = make_collect_env(settings, env_index) if collecting else make_env(settings, env_index)
    time_step_spec = tensor_spec.from_spec(env.time_step_spec())
    action_spec = tensor_spec.from_spec(env.action_spec())
    try:
      with strategy_obj.scope():
        # Every replica increments the step; only the first replica's increment counts.
        train_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step",
                                 aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        agent = builder.make_agent(time_step_spec, action_spec, train_step, seed=settings.seed)
    except BaseException:
      env.close()
      raise
    iteration = tf.Variable(0, dtype=tf.int64, trainable=False, name="iteration")
    return cls(settings, builder, env, strategy_obj, train_step, iteration, agent)

  def sync_iteration(self) -> int:
    """Sets `iteration` from the train step; returns it."""
    value = self.settings.iteration_of(int(self.train_step.numpy()))
    self.iteration.assign(value)
    return value

  def policy_metadata(self) -> Dict[str, Any]:
    """What `rlrun eval` needs to rebuild the environment without executing the run's gin."""
    env = getattr(self.env, "envs", [self.env])[0]
    gym_env = getattr(env, "gym", None)
    spec = getattr(gym_env, "spec", None)
    return dict(env_loader(self.settings.env_fn), env_name=getattr(spec, "id", None),
                env_suite=env_suite(self.settings.env_fn), env_api=gym_api(env),
                max_episode_steps=self.settings.max_episode_steps,
                env_imports=imported_modules())

  def eval_envs(self, reuse_env: bool = False) -> list:
    """settings.eval_parallel_envs evaluation environments (the first may be self.env)."""
    first = [self.env] if reuse_env else []
    return first + [make_env(self.settings, EVAL_ENV_OFFSET + i)
                    for i in range(len(first), self.settings.eval_parallel_envs)]

  def policy_exports(self):
    """The builder's policies as PolicySavers, by directory name under <root>/policies."""
    from rlrun.policies.policy_saver import PolicySaver
    return {name: PolicySaver(policy, self.train_step, self.policy_metadata())
            for name, policy in self.builder.policies(self.agent).items()}
