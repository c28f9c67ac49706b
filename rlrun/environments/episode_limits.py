"""Episode step limits and a picklable environment maker, without TensorFlow.

`limit_episodes` caps every episode; `EnvMaker` builds a limited, seeded environment in a
subprocess (ParallelPyEnvironment's children import this module, not TensorFlow).
"""

import importlib
import sys
from typing import Any, Dict, Optional, Sequence

from rlrun.environments.wrappers import TimeLimit

# The step limit of an environment that sets none (and train.Experiment.max_episode_steps is None).
DEFAULT_EPISODE_STEPS = 10000
_warned_unlimited = False


def _has_time_limit(env) -> bool:
  while env is not None:
    if isinstance(env, TimeLimit):
      return True
    env = env.__dict__.get("_env")
  return False


def limit_episodes(env, max_episode_steps: Optional[int] = None):
  """`env` with every episode capped at max_episode_steps, or at DEFAULT_EPISODE_STEPS
  (warning once) when neither it nor the caller sets a limit."""
  global _warned_unlimited
  if max_episode_steps is not None:
    return TimeLimit(env, max_episode_steps)
  if _has_time_limit(env):
    return env
  if not _warned_unlimited:
    _warned_unlimited = True
    sys.stderr.write(f"rlrun: warning: the environment sets no episode step limit; using "
                     f"{DEFAULT_EPISODE_STEPS} (set train.Experiment.max_episode_steps)\n")
  return TimeLimit(env, DEFAULT_EPISODE_STEPS)


class EnvMaker:
  """Builds `loader(**kwargs)` (e.g. rlrun.environments.suite_gym.load), caps its episodes
  and seeds it: picklable, for an environment in its own process."""

  def __init__(self, loader: str, kwargs: Dict[str, Any], max_episode_steps: Optional[int],
               seed: int, imports: Sequence[str] = ()):
    self.loader, self.kwargs = loader, kwargs
    self.max_episode_steps, self.seed = max_episode_steps, seed
    self.imports = list(imports)  # modules that register the env (the run's --import)

  def __call__(self):
    from rlrun.environments import env_imports
    for module_name in self.imports:
      env_imports.import_module(module_name)
    module, name = self.loader.rsplit(".", 1)
    env = limit_episodes(getattr(importlib.import_module(module), name)(**self.kwargs),
                         self.max_episode_steps)
    env.seed(self.seed)
    return env
