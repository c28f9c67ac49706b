"""A custom environment (the README's corridor.py) trained through each way of plugging it in,
evaluated and filmed; and the mistakes those ways can make."""

import json
import re
import sys
from pathlib import Path

import pytest

from cli_helpers import gin, rlrun
from test_user_errors import assert_one_line_error, run_in_process

README = Path(__file__).resolve().parents[2] / "README.md"
SHORT = [*gin("train.Experiment.num_iterations=300"), *gin("train.Experiment.eval_interval=150"),
         *gin("train.Experiment.checkpoint_interval=300"),
         *gin("train.Experiment.policy_save_interval=300"),
         *gin("train.Experiment.num_eval_episodes=2")]
CONFIG = "dqn_cartpole_gymnasium.gin"


@pytest.fixture
def corridor(tmp_path):
  """A directory holding the README's corridor.py (the working directory of the commands)."""
  text = README.read_text()
  code = re.search(r"<!-- corridor-example:start -->\n```python\n(.*?)```", text, re.S).group(1)
  (tmp_path / "corridor.py").write_text(code)
  return tmp_path


def _config_with_env(directory, name, *lines):
  """CONFIG written to `directory`/`name` with its environment lines replaced by `lines`."""
  copied = directory / name
  text = re.sub(r"train\.Experiment\.env_fn = .*\nsuite_gymnasium\.load\.environment_name = .*\n",
                "".join(f"{line}\n" for line in lines),
                (README.parent / "gin_configs" / CONFIG).read_text())
  copied.write_text(text.replace("ENV_NAME = 'CartPole-v0'\n", ""))
  return copied


# Environments whose observations break their Box(2,) float32 space, as `fault` says.
BROKEN_ENVS = """
import gymnasium
import numpy as np


class Broken(gymnasium.Env):
  def __init__(self, fault="none", render_mode=None):
    self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)
    self.action_space = gymnasium.spaces.Discrete(2)
    self.fault, self.render_mode = fault, render_mode

  def reset(self, seed=None, options=None):
    super().reset(seed=seed)
    return np.zeros(2, np.float32), {}

  def step(self, action):
    observation = {"shape": np.zeros(3), "text": np.array(["a", "b"]),
                   "none": np.zeros(2)}[self.fault]
    return observation, 1.0, False, False, {}


def cartpole():
  return gymnasium.make("CartPole-v1", render_mode="rgb_array")
"""


def _evals(root):
  return [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_the_readme_corridor_trains_each_way_and_evaluates(corridor):
  # 1. --import: the module registers Corridor-v0.
  first = corridor / "runs" / "imported"
  result = rlrun("train", "--config", CONFIG, "--import", "corridor", *gin(
      "ENV_NAME='Corridor-v0'"), "--root-dir", str(first), *SHORT, cwd=corridor)
  assert result.returncode == 0, result.stderr
  assert [e["step"] for e in _evals(first)] == [0, 150, 300]
  evaluated = rlrun("eval", "--root-dir", str(first), "--episodes", "2", "--json", cwd=corridor)
  assert evaluated.returncode == 0, evaluated.stderr
  assert len(json.loads(evaluated.stdout)["Returns"]) == 2
  video = rlrun("record-video", "--root-dir", str(first), "--episodes", "1", "--output",
                str(corridor / "corridor.mp4"), cwd=corridor)
  assert video.returncode == 0, video.stderr
  assert (corridor / "corridor.mp4").stat().st_size > 0

  # 2. 'module:EnvId': test_eval_and_video_rebuild_the_suite_that_made_the_env trains that way.

  # 3. The class by gin reference, its constructor argument from gin, in a copied config.
  copied = corridor / "corridor.gin"
  assert rlrun("configs", "copy", CONFIG, str(copied), cwd=corridor).returncode == 0
  text = copied.read_text()
  text = re.sub(r"train\.Experiment\.env_fn = .*\nsuite_gymnasium\.load\.environment_name = .*\n",
                "train.Experiment.env_fn = @corridor.Corridor\ncorridor.Corridor.length = 12\n"
                "train.Experiment.max_episode_steps = 50\n", text)
  text = text.replace("ENV_NAME = 'CartPole-v0'\n", "")
  copied.write_text(text)
  third = corridor / "runs" / "reference"
  result = rlrun("train", "--config", str(copied), "--root-dir", str(third), *SHORT,
                 cwd=corridor)
  assert result.returncode == 0, result.stderr
  assert "warning" not in result.stderr  # the episode limit is set: no default-limit warning
  evaluated = rlrun("eval", "--root-dir", str(third), "--episodes", "2", "--json",
                    "--use-run-config", cwd=corridor)
  assert evaluated.returncode == 0, evaluated.stderr
  # A 12-cell corridor: an episode is at least 11 steps long (50 at most).
  lengths = json.loads(evaluated.stdout)["EpisodeLengths"]
  assert all(11 <= n <= 50 for n in lengths), lengths


@pytest.mark.parametrize("args, fragments", [
    (["--import", "no_such_envs"], ["cannot import module 'no_such_envs' (from --import)",
                                    "working directory"]),
    ([*gin("ENV_NAME='no_such_envs:Foo-v0'")], ["cannot import module 'no_such_envs'",
                                                "no_such_envs:Foo-v0"]),
    ([*gin("ENV_NAME='corridor:Corridr-v0'")], ["unknown Gymnasium environment id 'Corridr-v0'",
                                                "Corridor-v0"]),
    ([*gin("suite_gymnasium.load.gym_kwargs={'length': 'x'}"), *gin("ENV_NAME='corridor:Corridor-v0'")],
     ["Corridor"]),
])
def test_custom_env_mistakes_are_one_line(capsys, corridor, monkeypatch, args, fragments):
  monkeypatch.chdir(corridor)
  root = corridor / "run"
  code, err = run_in_process(capsys, "train", "--config", CONFIG, "--root-dir", str(root),
                             *args, *SHORT)
  assert_one_line_error(code, err, *fragments)
  assert not root.exists()


@pytest.fixture
def broken(corridor):
  (corridor / "broken_envs.py").write_text(BROKEN_ENVS)
  (corridor / "bad_syntax.py").write_text("def f(:\n  pass\n")
  (corridor / "raises.py").write_text("import os\nraise RuntimeError('no licence server')\n")
  (corridor / "needs_dep.py").write_text("import not_an_installed_package\n")
  return corridor


@pytest.mark.parametrize("args, fragments", [
    (["broken_envs.Broken.fault = 'shape'"],
     ["the environment returned observation of shape (3,)", "declares (2,)", "one step"]),
    (["broken_envs.Broken.fault = 'text'"],
     ["the environment returned observation holding 'a'", "dtype float32"]),
])
def test_an_env_that_breaks_its_space_is_refused_before_the_run(capsys, broken, monkeypatch,
                                                               args, fragments):
  monkeypatch.chdir(broken)
  config = _config_with_env(broken, "broken.gin", "train.Experiment.env_fn = @broken_envs.Broken",
                            "train.Experiment.max_episode_steps = 20", *args)
  root = broken / "run"
  code, err = run_in_process(capsys, "train", "--config", str(config), "--root-dir", str(root))
  assert_one_line_error(code, err, *fragments)
  assert not root.exists()


@pytest.mark.parametrize("module, fragments", [
    ("bad_syntax", ["cannot import module 'bad_syntax' (from --import)", "SyntaxError",
                    "bad_syntax.py:1"]),
    ("raises", ["cannot import module 'raises'", "RuntimeError: no licence server",
                "raises.py:2"]),
    ("no_such_envs", ["no module named 'no_such_envs'", "sys.path ["]),
    ("needs_dep", ["cannot import module 'needs_dep'", "it imports 'not_an_installed_package', "
                   "which is not installed; pip install"]),
])
def test_an_import_whose_module_fails_is_one_line(capsys, broken, monkeypatch, module, fragments):
  monkeypatch.chdir(broken)
  root = broken / "run"
  code, err = run_in_process(capsys, "train", "--config", CONFIG, "--import", module,
                             "--root-dir", str(root), *SHORT)
  assert_one_line_error(code, err, *fragments)
  assert not root.exists()


@pytest.mark.slow
def test_eval_and_video_rebuild_the_suite_that_made_the_env(broken):
  # suite_gymnasium.load with a dict of constructor arguments: eval rebuilds the same env.
  kwargs = broken / "runs" / "kwargs"
  result = rlrun("train", "--config", CONFIG, *gin("ENV_NAME='corridor:Corridor-v0'"),
                 *gin("suite_gymnasium.load.gym_kwargs={'length': 12}"),
                 "--root-dir", str(kwargs), *SHORT, cwd=broken)
  assert result.returncode == 0, result.stderr
  assert [e["step"] for e in _evals(kwargs)] == [0, 150, 300]  # the README's way 2 trains
  evaluated = rlrun("eval", "--root-dir", str(kwargs), "--episodes", "2", "--json", cwd=broken)
  assert evaluated.returncode == 0, evaluated.stderr
  assert all(n >= 11 for n in json.loads(evaluated.stdout)["EpisodeLengths"])  # 12 cells
  assert "note" not in evaluated.stderr

  # A factory of a Gymnasium env: eval rebuilds it by its id with Gymnasium (not gym 0.23's
  # CartPole-v1) and says so.
  factory = broken / "runs" / "factory"
  config = _config_with_env(broken, "factory.gin", "train.Experiment.env_fn = @broken_envs.cartpole")
  result = rlrun("train", "--config", str(config), "--root-dir", str(factory), *SHORT,
                 cwd=broken)
  assert result.returncode == 0, result.stderr
  evaluated = rlrun("eval", "--root-dir", str(factory), "--episodes", "1", "--json", cwd=broken)
  assert evaluated.returncode == 0, evaluated.stderr
  assert "from its gymnasium id 'CartPole-v1'" in evaluated.stderr
  assert "its own env_fn" in evaluated.stderr

  # An env made without render_mode='rgb_array' cannot be filmed: one line, no video.
  plain = broken / "runs" / "plain"
  config = _config_with_env(broken, "plain.gin", "train.Experiment.env_fn = @broken_envs.Broken",
                            "train.Experiment.max_episode_steps = 20")
  result = rlrun("train", "--config", str(config), "--root-dir", str(plain), *SHORT, cwd=broken)
  assert result.returncode == 0, result.stderr
  video = rlrun("record-video", "--root-dir", str(plain), "--use-run-config", "--output",
                str(broken / "plain.mp4"), cwd=broken)
  assert video.returncode == 2
  assert video.stderr.strip().splitlines() == [video.stderr.strip()]
  assert "cannot film the environment" in video.stderr and "render_mode='rgb_array'" in video.stderr
  assert not list(broken.glob("*.mp4"))


def test_without_gymnasium_train_says_how_to_install_it(capsys, tmp_path, monkeypatch):
  for name in [m for m in sys.modules if m == "gymnasium" or m.startswith("gymnasium.")]:
    monkeypatch.delitem(sys.modules, name)
  monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium raises ImportError
  root = tmp_path / "run"
  code, err = run_in_process(capsys, "train", "--config", CONFIG, "--root-dir", str(root))
  assert_one_line_error(code, err, "need the gymnasium package", "pip install gymnasium==")
  assert not root.exists()
