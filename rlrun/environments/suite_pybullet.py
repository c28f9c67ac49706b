"""suite_pybullet: load pybullet's gym environments (e.g. MinitaurBulletEnv-v0) quietly.

pybullet and its envs print to stdout/stderr from C and Python ('pybullet build
time: ...', 'argv[0]=', 'urdf_root=...'); that output is silenced at the file
descriptor level while importing pybullet, making an env and resetting it the
first time (envs built on pybullet_envs.env_bases connect to the physics
server there). Envs use pybullet's DIRECT connection, so `render('rgb_array')`
draws with pybullet's CPU renderer: no display, X server or GPU is needed.
"""

import contextlib
import ctypes
import difflib
import importlib.util
import io
import os
import sys
import tempfile
import types
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import gin
import numpy as np

from rlrun.environments import py_environment, suite_gym

gym = suite_gym.gym

# Suggested when an unknown id has no close match.
_COMMON_IDS = ("MinitaurBulletEnv-v0", "InvertedPendulumBulletEnv-v0", "HalfCheetahBulletEnv-v0",
               "AntBulletEnv-v0", "HopperBulletEnv-v0")


def _flush_c_stdio() -> None:
  """Flushes C's stdio buffers, which hold printf output while stdout is not a tty."""
  try:
    ctypes.CDLL(None).fflush(None)
  except (OSError, AttributeError):  # no libc symbols to load (e.g. some Windows builds)
    pass


@contextlib.contextmanager
def silenced() -> Iterator[None]:
  """Silences stdout and stderr in the block, including output written by C code.

  fds 1 and 2 are pointed at a temporary file (process-wide, so other threads'
  output is silenced too). If the block raises, what it printed is written to
  stderr afterwards, so the output that explains a failure is not lost.
  """
  sys.stdout.flush()
  sys.stderr.flush()
  python_out = io.StringIO()
  with tempfile.TemporaryFile() as sink:
    saved = []
    try:
      saved = [os.dup(1), os.dup(2)]
      os.dup2(sink.fileno(), 1)
      os.dup2(sink.fileno(), 2)
    except OSError:  # fds 1/2 closed: only Python-level output can be silenced
      for fd in saved:
        os.close(fd)
      saved = []
    failed = True
    try:
      # sys.stdout may not write to fd 1 (e.g. under pytest's capture).
      with contextlib.redirect_stdout(python_out), contextlib.redirect_stderr(python_out):
        yield
      failed = False
    finally:
      _flush_c_stdio()  # before fd 1 is restored, or buffered C output would leak later
      for fd, saved_fd in zip((1, 2), saved):
        os.dup2(saved_fd, fd)
        os.close(saved_fd)
      if failed:
        sink.seek(0)
        sys.stderr.write(sink.read().decode(errors="replace") + python_out.getvalue())
        sys.stderr.flush()


@contextlib.contextmanager
def _pkg_resources_shim() -> Iterator[None]:
  """Provides pkg_resources.parse_version while pybullet_envs modules import.

  pybullet_envs imports it from pkg_resources, which setuptools >= 81 no longer
  ships; the shim is removed afterwards so other code sees the real situation.
  """
  if importlib.util.find_spec("pkg_resources") is not None:
    yield
    return
  from packaging import version  # pylint: disable=g-import-not-at-top
  shim = types.ModuleType("pkg_resources")
  shim.parse_version = version.parse
  sys.modules["pkg_resources"] = shim
  try:
    yield
  finally:
    if sys.modules.get("pkg_resources") is shim:
      del sys.modules["pkg_resources"]


# pybullet prints its build banner on import; pybullet_envs registers the Bullet ids with gym.
with silenced():
  import pybullet  # pylint: disable=g-import-not-at-top,unused-import
  import pybullet_envs  # pylint: disable=g-import-not-at-top,unused-import


def bullet_ids() -> List[str]:
  """The sorted gym ids registered by pybullet_envs."""
  return sorted(spec.id for spec in gym.envs.registry.all()
                if str(spec.entry_point).startswith("pybullet_envs"))


def _unknown_id_error(name: str, reason: Exception) -> ValueError:
  known = bullet_ids()
  by_lower = {i.lower(): i for i in known}
  close = [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), 5, 0.6)]
  detail = " ".join(str(reason).split())
  if close:
    hint = f"close matches among the registered Bullet ids: {', '.join(close)}"
  else:
    common = [i for i in _COMMON_IDS if i in known] or known[:5]
    hint = f"no close match; Bullet ids include: {', '.join(common)}, ..."
  return ValueError(f"unknown pybullet environment id {name!r}; {hint} (check the name and "
                    f"version; all ids: suite_pybullet.bullet_ids(); gym said: {detail})")


class _BulletGymWrapper(gym.Wrapper):
  """Keeps a Bullet env quiet on its first reset and off the GUI when headless.

  env_bases envs connect to the physics server on their first reset (printing
  'argv[0]='), and a render('human') makes that connection a GUI one, which
  needs a display.
  """

  def __init__(self, env: Any):
    super().__init__(env)
    self._first_reset = True

  def reset(self, **kwargs: Any) -> Any:
    if not self._first_reset:
      return self.env.reset(**kwargs)
    with silenced():
      observation = self.env.reset(**kwargs)
    self._first_reset = False
    return observation

  def render(self, mode: str = "human", **kwargs: Any) -> Any:
    if (mode == "human" and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")):
      raise ValueError("render mode 'human' opens a pybullet GUI window, which needs a display "
                       "(DISPLAY is unset); use render('rgb_array') to get frames headless")
    return self.env.render(mode, **kwargs)


@gin.configurable(module="suite_pybullet")
def load(environment_name: str, discount: float = 1.0, max_episode_steps: Optional[int] = None,
         gym_env_wrappers: Sequence[Callable[[Any], Any]] = (),
         env_wrappers: Sequence[Callable[[py_environment.PyEnvironment],
                                         py_environment.PyEnvironment]] = (),
         spec_dtype_map: Optional[Dict[type, Any]] = None,
         render_kwargs: Optional[Dict[str, Any]] = None,
         seed: Optional[int] = None) -> py_environment.PyEnvironment:
  """Loads a pybullet gym environment by id as a PyEnvironment.

  Like suite_gym.load, but quiet, with float32 Box specs by default and with
  the Bullet ids in the unknown-id error. gym's TimeLimit is replaced by rlrun's
  TimeLimit, so a time-out is a truncation (discount kept). Any registered gym
  id is accepted. The env is made with its default arguments: never with
  render=True, which opens a GUI.

  Args:
    environment_name: a registered id, e.g. 'MinitaurBulletEnv-v0'.
    discount: the discount of non-terminal steps.
    max_episode_steps: the episode step limit; None uses the registered limit
      (1000 for Minitaur), 0 means no limit.
    gym_env_wrappers: callables applied in order to the gym env (gym.Wrappers).
    env_wrappers: callables applied in order to the PyEnvironment, after TimeLimit.
    spec_dtype_map: {gym space class: numpy dtype}; None means {gym.spaces.Box:
      np.float32}, so observations and actions are float32.
    render_kwargs: extra keyword arguments for the env's render.
    seed: when given, seeds the env (its first reset and its spaces) deterministically.

  Returns:
    The PyEnvironment.

  Raises:
    ValueError: for an unknown id or a negative max_episode_steps.
  """
  if spec_dtype_map is None:
    spec_dtype_map = {gym.spaces.Box: np.float32}
  with warnings.catch_warnings():
    # gym warns on make, e.g. "Box bound precision lowered by casting to float32".
    warnings.simplefilter("ignore")
    max_episode_steps = suite_gym.episode_limit(environment_name, max_episode_steps,
                                                _unknown_id_error)
    with _pkg_resources_shim(), silenced():
      gym_env = gym.make(environment_name)
    # After wrap_env removes gym's TimeLimit, _BulletGymWrapper is innermost.
    return suite_gym.wrap_env(
        gym_env, discount=discount, max_episode_steps=max_episode_steps,
        gym_env_wrappers=(_BulletGymWrapper, *gym_env_wrappers), env_wrappers=env_wrappers,
        spec_dtype_map=spec_dtype_map, render_kwargs=render_kwargs, seed=seed)
