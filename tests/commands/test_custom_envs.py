"""A custom environment (the README's corridor.py) trained through each way of plugging it in,
evaluated and filmed; and the mistakes those ways can make."""

import json
import re
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

  # 2. 'module:EnvId'.
  second = corridor / "runs" / "module-id"
  result = rlrun("train", "--config", CONFIG, *gin("ENV_NAME='corridor:Corridor-v0'"),
                 "--root-dir", str(second), *SHORT, cwd=corridor)
  assert result.returncode == 0, result.stderr
  assert len(_evals(second)) == 3

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
