"""GymnasiumWrapper: a PyEnvironment over a Gymnasium 1.x environment.

Gymnasium's step says `terminated` and `truncated` apart: a termination ends the episode
with discount 0, a truncation (a time limit, or the env's own cut) keeps the discount so
that the value of the last observation is bootstrapped. reset(seed=...) seeds the env.
"""

from typing import Any, Optional

import numpy as np

from rlrun.environments import gym_wrapper
from rlrun.trajectories import time_step as ts


def import_gymnasium():
  """gymnasium, or a ValueError saying how to install it."""
  try:
    import gymnasium  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ValueError("Gymnasium environments need the gymnasium package, a dependency of "
                     "rlrun: pip install gymnasium==1.4.0") from None
  return gymnasium


class GymnasiumWrapper(gym_wrapper.GymWrapper):
  """Wraps a gymnasium.Env as a PyEnvironment (same arguments as GymWrapper; render_kwargs
  are unused: Gymnasium fixes the render mode when the env is made)."""

  spaces = property(lambda self: import_gymnasium().spaces)

  def _gym_reset(self) -> Any:
    seed, self._pending_seed = self._pending_seed, None
    observation, _ = self._gym_env.reset(seed=seed)
    return observation

  def _step(self, action: Any) -> ts.TimeStep:
    gym_action = gym_wrapper.to_gym_action(action, self._gym_env.action_space, self.spaces)
    observation, reward, terminated, truncated, info = self._gym_env.step(gym_action)
    self._info = info
    observation = gym_wrapper.to_spec_dtypes(observation, self._observation_spec)
    reward = np.asarray(reward, dtype=np.float32)
    if terminated:
      return ts.termination(observation, reward)
    if truncated:
      return ts.truncation(observation, reward, self._discount)
    return ts.transition(observation, reward, self._discount)

  def render(self, mode: str = "rgb_array") -> Optional[np.ndarray]:
    """The env's frame; it must have been made with render_mode='rgb_array'."""
    render_mode = getattr(self._gym_env, "render_mode", None)
    if mode != render_mode:
      raise ValueError(f"this Gymnasium env was made with render_mode={render_mode!r}, not "
                       f"{mode!r}; make it with render_mode={mode!r} (suite_gymnasium.load "
                       "does by default; an env_fn of your own passes it to gymnasium.make "
                       "or the env's constructor, e.g. with a gin binding)")
    gym_wrapper.headless_sdl()
    return self._gym_env.render()
