"""Tests for suite_pybullet.load on MinitaurBulletEnv-v0 and a light Bullet env."""

import importlib.util
import os
import subprocess
import sys

import gin
import numpy as np
import pytest

from rlrun.environments import suite_pybullet, wrappers
from rlrun.trajectories.time_step import StepType

# The specs printed by the TF-Agents SAC Minitaur tutorial (whitespace collapsed).
MINITAUR_OBS_SPEC = (
    "BoundedArraySpec(shape=(28,), dtype=dtype('float32'), name='observation', minimum=[ "
    + " ".join(["-3.1515927"] * 8 + ["-167.72488"] * 8 + ["-5.71"] * 8 + ["-1.01"] * 4)
    + " ], maximum=[ "
    + " ".join(["3.1515927"] * 8 + ["167.72488"] * 8 + ["5.71"] * 8 + ["1.01"] * 4) + " ])")
MINITAUR_ACTION_SPEC = (
    "BoundedArraySpec(shape=(8,), dtype=dtype('float32'), name='action', minimum=-1.0, "
    "maximum=1.0)")


@pytest.fixture(scope="module")
def minitaur():
  env = suite_pybullet.load("MinitaurBulletEnv-v0")
  yield env
  env.close()


def _random_action(spec, rng: np.random.Generator) -> np.ndarray:
  return rng.uniform(spec.minimum, spec.maximum, spec.shape).astype(spec.dtype)


def test_minitaur_specs_match_the_tutorial(minitaur):
  observation_spec = minitaur.time_step_spec().observation
  assert observation_spec.shape == (28,) and observation_spec.dtype == np.float32
  assert " ".join(str(observation_spec).split()) == MINITAUR_OBS_SPEC
  action_spec = minitaur.action_spec()
  assert action_spec.shape == (8,) and action_spec.dtype == np.float32
  assert float(action_spec.minimum) == -1.0 and float(action_spec.maximum) == 1.0
  assert str(action_spec) == MINITAUR_ACTION_SPEC
  # The registered episode limit, applied by rlrun's TimeLimit (gym's is removed).
  assert isinstance(minitaur, wrappers.TimeLimit) and minitaur.duration == 1000


def test_minitaur_reset_and_step_with_random_actions(minitaur):
  rng = np.random.default_rng(0)
  time_step = minitaur.reset()
  assert time_step.is_first()
  assert time_step.observation.dtype == np.float32 and time_step.observation.shape == (28,)
  for _ in range(10):
    time_step = minitaur.step(_random_action(minitaur.action_spec(), rng))
    assert time_step.observation.dtype == np.float32 and time_step.observation.shape == (28,)
    assert np.all(np.isfinite(time_step.observation))
    assert time_step.reward.dtype == np.float32
  assert int(time_step.step_type) == StepType.MID and float(time_step.discount) == 1.0


def test_minitaur_renders_rgb_frames_headless(minitaur, monkeypatch):
  # pybullet's DIRECT connection renders on the CPU: no display (or GPU) is used.
  monkeypatch.delenv("DISPLAY", raising=False)
  minitaur.reset()
  frame = minitaur.render("rgb_array")
  assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
  assert frame.std() > 0  # a drawn scene, not a blank frame
  with pytest.raises(ValueError, match="needs a display"):
    minitaur.render("human")


def test_max_episode_steps_truncates_with_discount_one():
  env = suite_pybullet.load("MinitaurBulletEnv-v0", max_episode_steps=5, seed=1)
  rng = np.random.default_rng(1)
  env.reset()
  step_types = []
  for _ in range(5):
    time_step = env.step(_random_action(env.action_spec(), rng))
    step_types.append(int(time_step.step_type))
  assert step_types == [StepType.MID] * 4 + [StepType.LAST]
  assert float(time_step.discount) == 1.0
  assert env.step(_random_action(env.action_spec(), rng)).is_first()  # auto-reset
  env.close()


def test_light_bullet_env_loads_quietly_with_float32_specs(capfd):
  assert "InvertedPendulumBulletEnv-v0" in suite_pybullet.bullet_ids()
  env = suite_pybullet.load("InvertedPendulumBulletEnv-v0", seed=0)
  time_step = env.reset()  # connects to the physics server, which prints 'argv[0]='
  time_step = env.step(np.array([0.5], np.float32))
  env.close()
  assert capfd.readouterr() == ("", "")
  assert env.observation_spec().dtype == np.float32 and env.observation_spec().shape == (5,)
  assert env.action_spec().dtype == np.float32 and env.action_spec().shape == (1,)
  assert time_step.observation.dtype == np.float32
  # The pkg_resources stand-in for pybullet_envs does not outlive the load.
  if importlib.util.find_spec("pkg_resources") is None:
    assert "pkg_resources" not in sys.modules


def test_import_and_load_print_nothing(capfd):
  code = ("from rlrun.environments import suite_pybullet; "
          "suite_pybullet.load('CartPoleContinuousBulletEnv-v0').reset()")
  subprocess.run([sys.executable, "-c", code], check=True,
                 env={**os.environ, "PYTHONWARNINGS": "ignore"})
  out, err = capfd.readouterr()
  assert out == ""
  assert "pybullet build time" not in err and "argv[0]" not in err


def test_silenced_replays_output_when_the_block_fails(capfd):
  with pytest.raises(RuntimeError):
    with suite_pybullet.silenced():
      os.write(1, b"from C\n")
      print("from Python")
      raise RuntimeError("boom")
  out, err = capfd.readouterr()
  assert out == "" and "from C" in err and "from Python" in err


def test_unknown_id_lists_close_bullet_ids():
  with pytest.raises(ValueError, match=r"unknown pybullet environment id 'MinitaurBulletEnv-v1'"
                     r"; close matches among the registered Bullet ids: MinitaurBulletEnv-v0"):
    suite_pybullet.load("MinitaurBulletEnv-v1")
  with pytest.raises(ValueError, match="no close match; Bullet ids include: MinitaurBulletEnv-v0"):
    suite_pybullet.load("Xyzzy-v0")
  with pytest.raises(ValueError, match="max_episode_steps must be >= 0"):
    suite_pybullet.load("MinitaurBulletEnv-v0", max_episode_steps=-1)


def test_gin_configurable_as_suite_pybullet_load():
  try:
    gin.parse_config("suite_pybullet.load.max_episode_steps = 3")
    env = suite_pybullet.load("InvertedPendulumBulletEnv-v0")
    assert env.duration == 3
    env.close()
  finally:
    gin.clear_config()
