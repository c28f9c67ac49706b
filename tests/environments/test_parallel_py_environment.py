"""Tests for ParallelPyEnvironment: members stepped in spawned child processes."""

import functools
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Optional

import numpy as np
import psutil
import pytest

from rlrun.environments import batched_py_environment, py_environment
from rlrun.environments.parallel_py_environment import ParallelPyEnvironment
from rlrun.specs import array_spec
from rlrun.trajectories import time_step as ts
from rlrun.trajectories.time_step import StepType


class FixedLengthEnv(py_environment.PyEnvironment):
  """Episodes of `episode_length` steps; observation [step in episode, last action, env_id].

  Module level so that the spawned children can unpickle it. `fail_at_step` makes
  the n-th step (counted over the env's life) raise; `hang_on_action` makes a
  step with that action sleep far longer than the tests' timeouts.
  """

  def __init__(self, episode_length: int = 3, env_id: int = 0, obs_max: float = 100.0,
               fail_at_step: Optional[int] = None, hang_on_action: Optional[int] = None):
    super().__init__()
    self._length = episode_length
    self._env_id = env_id
    self._fail_at_step = fail_at_step
    self._hang_on_action = hang_on_action
    self._episode_step = 0
    self._total_steps = 0
    self._seed: Optional[int] = None
    self._obs_spec = array_spec.BoundedArraySpec((3,), np.float32, -1.0, obs_max,
                                                 name="observation")

  def observation_spec(self):
    return self._obs_spec

  def action_spec(self):
    return array_spec.BoundedArraySpec((), np.int64, 0, 9, name="action")

  def _reset(self):
    self._episode_step = 0
    return ts.restart(np.array([0, -1, self._env_id], np.float32))

  def _step(self, action):
    self._total_steps += 1
    if self._total_steps == self._fail_at_step:
      raise ZeroDivisionError(f"env {self._env_id} broke on purpose")
    if int(action) == self._hang_on_action:
      time.sleep(60)
    self._episode_step += 1
    observation = np.array([self._episode_step, action, self._env_id], np.float32)
    if self._episode_step >= self._length:
      return ts.termination(observation, 1.0)
    return ts.transition(observation, 1.0)

  def render(self, mode: str = "rgb_array"):
    return np.full((2, 2, 3), self._env_id, np.uint8)

  def seed(self, seed):
    self._seed = seed

  def get_info(self) -> Any:
    return {"seed": self._seed, "pid": os.getpid(),
            "tensorflow": sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow")}


class SleepyEnv(FixedLengthEnv):
  """Takes `seconds` to construct and reports when its construction ran (wall clock)."""

  def __init__(self, seconds: float):
    start = time.time()
    time.sleep(seconds)
    super().__init__()
    self._built = (start, time.time())

  def get_info(self) -> Any:
    return self._built


def _broken_constructor() -> FixedLengthEnv:
  raise ValueError("bad constructor argument 42")


def _envs(*episode_lengths: int, **kwargs: Any):
  return [functools.partial(FixedLengthEnv, n, i, **kwargs)
          for i, n in enumerate(episode_lengths)]


def _assert_all_gone(pids) -> None:
  live = [p.pid for p in multiprocessing.active_children()]
  assert not set(pids) & set(live)
  for pid in pids:  # joined children are reaped: no zombies left behind
    assert not psutil.pid_exists(pid) or psutil.Process(pid).ppid() != os.getpid()


def test_specs_batch_size_and_separate_processes():
  with ParallelPyEnvironment(_envs(3, 3)) as env:
    inner = FixedLengthEnv()
    assert env.batched and env.batch_size == 2
    assert env.observation_spec() == inner.observation_spec()
    assert env.action_spec() == inner.action_spec()
    assert env.time_step_spec() == inner.time_step_spec()
    assert len(set(env.pids)) == 2 and os.getpid() not in env.pids
    assert [info["pid"] for info in env.get_info()] == env.pids


def test_matches_batched_env_and_auto_resets_each_member():
  actions = [np.array([a, 9 - a]) for a in range(9)]
  reference = batched_py_environment.BatchedPyEnvironment(
      [FixedLengthEnv(2, 0), FixedLengthEnv(3, 1)])
  expected = [reference.reset()] + [reference.step(a) for a in actions]
  for flags in ({}, {"flatten": True, "blocking": True}):
    with ParallelPyEnvironment(_envs(2, 3), **flags) as env:
      got = [env.reset()] + [env.step(a) for a in actions]
    for want, have in zip(expected, got):
      for w, h in zip(want, have):
        np.testing.assert_array_equal(w, h)
  step_types = np.stack([t.step_type for t in got])
  f, m, l = StepType.FIRST, StepType.MID, StepType.LAST
  np.testing.assert_array_equal(step_types[:, 0], [f, m, l, f, m, l, f, m, l, f])
  np.testing.assert_array_equal(step_types[:, 1], [f, m, m, l, f, m, m, l, f, m])
  # A member's action after its LAST is ignored (it resets): -1 marks a FIRST.
  np.testing.assert_array_equal(got[3].observation[:, 1], [-1, 7])


def test_cartpole_300_random_steps():
  from rlrun.environments import suite_gym  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  with ParallelPyEnvironment([functools.partial(suite_gym.load, "CartPole-v0")] * 2) as env:
    env.seed(0)
    previous = env.reset()
    assert previous.observation.shape == (2, 4) and previous.observation.dtype == np.float32
    np.testing.assert_array_equal(previous.step_type, [StepType.FIRST] * 2)
    episodes_ended = np.zeros(2, int)
    for _ in range(300):
      time_step = env.step(rng.integers(0, 2, size=2))
      assert time_step.observation.shape == (2, 4) and time_step.step_type.shape == (2,)
      assert time_step.reward.shape == (2,) and time_step.discount.shape == (2,)
      was_last = previous.step_type == StepType.LAST
      np.testing.assert_array_equal(time_step.step_type == StepType.FIRST, was_last)
      episodes_ended += time_step.step_type == StepType.LAST
      previous = time_step
    assert np.all(episodes_ended >= 3)  # random CartPole episodes last ~20 steps
    assert env.render().ndim == 3


def test_seed_render_and_info_per_member():
  with ParallelPyEnvironment(_envs(3, 3, 3)) as env:
    env.seed(10)
    assert [info["seed"] for info in env.get_info()] == [10, 11, 12]
    np.testing.assert_array_equal(env.render(), np.zeros((2, 2, 3), np.uint8))


def test_lambda_constructor_and_bad_arguments():
  with ParallelPyEnvironment([lambda: FixedLengthEnv(4)]) as env:
    assert env.reset().observation.shape == (1, 3)
    with pytest.raises(ValueError, match=r"leading batch dimension of size 1"):
      env.step(np.int64(0))
  with pytest.raises(ValueError, match="at least one"):
    ParallelPyEnvironment([])
  with pytest.raises(TypeError, match=r"env_constructors\[1\] must be a zero-argument callable"):
    ParallelPyEnvironment([FixedLengthEnv, FixedLengthEnv()])
  lock = threading.Lock()
  with pytest.raises(TypeError, match=r"env_constructors\[0\] .* cannot be pickled"):
    ParallelPyEnvironment([lambda: lock])
  with pytest.raises(ValueError, match="timeout must be a positive"):
    ParallelPyEnvironment([FixedLengthEnv], timeout=0)


def test_different_specs_name_the_env():
  constructors = [FixedLengthEnv, FixedLengthEnv, functools.partial(FixedLengthEnv, obs_max=5.0)]
  with pytest.raises(ValueError, match=r"env 2's observation_spec\(\)"):
    ParallelPyEnvironment(constructors)
  assert not multiprocessing.active_children()


def test_parallel_start_builds_environments_at_once():
  constructors = [functools.partial(SleepyEnv, 0.5)] * 3
  overlaps = {}
  for serially in (True, False):
    env = ParallelPyEnvironment(constructors, start_serially=serially)
    built = sorted(env.get_info())  # (start, end) of each constructor
    env.close()
    overlaps[serially] = [b[0] < a[1] for a, b in zip(built, built[1:])]
  assert overlaps[True] == [False, False]  # each constructor ran after the previous one
  assert any(overlaps[False])  # some ran at the same time (no wall-clock comparison: noisy)


def test_constructor_error_names_env_index():
  with pytest.raises(RuntimeError) as info:
    ParallelPyEnvironment([FixedLengthEnv, _broken_constructor, FixedLengthEnv])
  message = str(info.value)
  assert "env 1 raised ValueError during construction: bad constructor argument 42" in message
  assert "_broken_constructor" in message  # the child's traceback
  assert not multiprocessing.active_children()


def test_step_error_names_env_index_and_shuts_down():
  env = ParallelPyEnvironment(_envs(3, 3, fail_at_step=2))
  pids = env.pids
  env.reset()
  env.step(np.array([1, 1]))
  with pytest.raises(RuntimeError, match=r"env 0 raised ZeroDivisionError during step: env 0 "
                                         r"broke on purpose \(all child.*\)\nChild traceback:"):
    env.step(np.array([1, 1]))
  _assert_all_gone(pids)
  with pytest.raises(RuntimeError, match="is closed"):
    env.reset()


def test_killed_child_raises_instead_of_hanging():
  env = ParallelPyEnvironment(_envs(3, 3), timeout=30.0)
  pids = env.pids
  env.reset()
  os.kill(pids[1], signal.SIGKILL)
  start = time.monotonic()
  with pytest.raises(RuntimeError, match=rf"env 1 \(pid {pids[1]}\) died"):
    env.step(np.array([1, 1]))
  assert time.monotonic() - start < 25  # not the 30 s timeout: the death is noticed
  _assert_all_gone(pids)


def test_unresponsive_child_times_out():
  # The timeout also bounds construction, so leave room for a loaded machine.
  env = ParallelPyEnvironment(_envs(3, 3, hang_on_action=7), timeout=3.0)
  pids = env.pids
  env.reset()
  start = time.monotonic()
  with pytest.raises(RuntimeError, match=r"env 0 \(pid \d+\) did not answer step within 3.0 s"):
    env.step(np.array([7, 1]))
  assert time.monotonic() - start < 30  # a hang guard, not a speed claim
  _assert_all_gone(pids)


def test_close_and_del_leave_no_children():
  env = ParallelPyEnvironment(_envs(3, 3))
  pids = env.pids
  env.close()
  env.close()  # idempotent
  _assert_all_gone(pids)
  env = ParallelPyEnvironment(_envs(3))
  pids = env.pids
  del env
  gc.collect()
  _assert_all_gone(pids)


def test_children_never_import_tensorflow():
  import tensorflow  # noqa: F401  # pylint: disable=g-import-not-at-top,unused-import
  with ParallelPyEnvironment(_envs(3, 3)) as env:
    assert [info["tensorflow"] for info in env.get_info()] == [[], []]


def test_unguarded_script_and_exit_without_close(tmp_path):
  # No `if __name__ == '__main__'` guard and no close(): spawn must not re-run the
  # script in the children, and the atexit hook must end them.
  script = tmp_path / "script.py"
  script.write_text(textwrap.dedent("""
      import numpy as np
      from rlrun.environments.parallel_py_environment import ParallelPyEnvironment
      from rlrun.environments.py_environment import PyEnvironment
      from rlrun.specs import array_spec
      from rlrun.trajectories import time_step as ts

      class Env(PyEnvironment):
        def observation_spec(self):
          return array_spec.ArraySpec((), np.float32)
        def action_spec(self):
          return array_spec.ArraySpec((), np.int64)
        def _reset(self):
          return ts.restart(np.float32(0))
        def _step(self, action):
          return ts.transition(np.float32(action), 1.0)

      env = ParallelPyEnvironment([Env, lambda: Env()])
      env.reset()
      print(env.step(np.array([3, 4])).observation.tolist(), *env.pids)
      """))
  result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, check=False)
  assert result.returncode == 0, result.stderr
  words = result.stdout.split()
  assert words[:2] == ["[3.0,", "4.0]"]
  for pid in map(int, words[2:]):  # joined by the script itself, so not even zombies remain
    assert not psutil.pid_exists(pid)
