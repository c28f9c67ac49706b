"""`rlrun eval` and `rlrun record-video` on a trained run."""

import json
import shutil

import imageio
import numpy as np
import pytest

from cli_helpers import rlrun


def test_eval_json_reports_returns_of_the_saved_policy(smoke_run):
  root, _ = smoke_run
  result = rlrun("eval", "--root-dir", str(root), "--episodes", "4", "--json")
  assert result.returncode == 0, result.stderr
  report = json.loads(result.stdout)
  assert report["NumEpisodes"] == 4 and report["train_step"] == 300
  assert report["AverageReturn"] == pytest.approx(report["AverageEpisodeLength"])  # +1 per step
  assert 8 <= report["AverageReturn"] <= 200
  # Each episode, and the statistics of them.
  returns = report["Returns"]
  assert len(returns) == 4 and returns == [float(n) for n in report["EpisodeLengths"]]
  assert report["AverageReturn"] == pytest.approx(sum(returns) / 4)
  assert (report["MinReturn"], report["MaxReturn"]) == (min(returns), max(returns))
  mean = sum(returns) / 4
  assert report["StdReturn"] == pytest.approx((sum((r - mean) ** 2 for r in returns) / 4) ** 0.5)
  # --seed: the same seed gives the same episodes (CartPole's start states are seeded).
  again = json.loads(rlrun("eval", "--root-dir", str(root), "--episodes", "4", "--json",
                           "--seed", "12345").stdout)
  assert again["Returns"] == returns and again["seed"] == report["seed"] == 12345


def test_eval_text_and_explicit_policy_path(smoke_run):
  root, _ = smoke_run
  result = rlrun("eval", "--policy", str(root / "policies" / "collect_policy"), "--episodes", "2")
  assert result.returncode == 0, result.stderr
  assert "AverageReturn = " in result.stdout and "AverageEpisodeLength = " in result.stdout



def test_eval_with_epsilon_is_seeded_and_reported(smoke_run):
  root, _ = smoke_run
  args = ("eval", "--root-dir", str(root), "--episodes", "3", "--json", "--epsilon", "0.5")
  first, second = (json.loads(rlrun(*args).stdout) for _ in range(2))
  assert first["epsilon"] == 0.5 and first["Returns"] == second["Returns"]
  text = rlrun("eval", "--root-dir", str(root), "--episodes", "1", "--epsilon", "0.001")
  assert text.returncode == 0 and "seed 12345, epsilon 0.001" in text.stdout

def test_record_video_writes_a_playable_mp4_and_gif(smoke_run, tmp_path):
  root, _ = smoke_run
  result = rlrun("record-video", "--root-dir", str(root), "--episodes", "1", "--fps", "20")
  assert result.returncode == 0, result.stderr
  path = result.stdout.split(" (")[0].strip()
  assert path.endswith(".mp4") and str(root / "videos") in path
  frames = imageio.mimread(path, memtest=False)
  assert len(frames) >= 9 and frames[0].shape == (400, 600, 3)
  gif = tmp_path / "clip.gif"
  result = rlrun("record-video", "--root-dir", str(root), "--output", str(gif))
  assert result.returncode == 0, result.stderr
  assert len(imageio.mimread(gif)) >= 9


def test_eval_never_executes_the_runs_config_unless_asked(smoke_run, tmp_path):
  root, _ = smoke_run
  copy = tmp_path / "copied_run"
  shutil.copytree(root, copy)
  # A config.gin from elsewhere is code; this one would import a module that does not exist.
  (copy / "config.gin").write_text("import no_such_module_rlrun_test\n")
  metadata = json.loads((copy / "policies" / "policy" / "rlrun_policy.json").read_text())
  assert metadata["env_loader"] == "rlrun.environments.suite_gym.load"
  assert metadata["env_kwargs"] == {"environment_name": "CartPole-v0"}
  result = rlrun("eval", "--root-dir", str(copy), "--episodes", "2", "--json")
  assert result.returncode == 0, result.stderr
  assert json.loads(result.stdout)["environment"] == "CartPole-v0"
  result = rlrun("eval", "--root-dir", str(copy), "--episodes", "2", "--use-run-config")
  assert result.returncode == 2
  assert result.stderr.startswith("rlrun: error: ") and "no_such_module_rlrun_test" in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1


def test_the_run_keeps_step_snapshots_and_its_best_policy(smoke_run, tmp_path):
  root, _ = smoke_run
  # policy_save_interval 150 of 300 iterations: snapshots at 150 and 300.
  assert sorted(p.name for p in (root / "policies").glob("step_*")) == ["step_150", "step_300"]
  results = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  best_value = max(r["AverageReturn"] for r in results)
  first_best = next(r for r in results if r["AverageReturn"] == best_value)
  assert json.loads((root / "policies" / "best" / "rlrun_best.json").read_text()) == {
      "step": first_best["step"], "AverageReturn": best_value}
  best = json.loads(rlrun("eval", "--root-dir", str(root), "--step", "best", "--json").stdout)
  assert best["train_step"] == first_best["train_step"]
  older = json.loads(rlrun("eval", "--root-dir", str(root), "--step", "150", "--json").stdout)
  assert older["train_step"] == 150
  last = json.loads(rlrun("eval", "--root-dir", str(root), "--step", "last", "--json").stdout)
  assert last["train_step"] == 300
  video = rlrun("record-video", "--root-dir", str(root), "--step", "150", "--output",
                str(tmp_path / "older.gif"))
  assert video.returncode == 0, video.stderr
  assert (tmp_path / "older.gif").stat().st_size > 0


# Each agent's shipped config, trained a few iterations: (config, its bindings, iterations).
AGENT_RUNS = {
    "td3_pendulum.gin": (["train.Experiment.initial_collect_steps=200"], 40),
    "c51_cartpole.gin": (["train.Experiment.initial_collect_steps=200",
                          "train.Experiment.collect_steps_per_iteration=16",
                          "train.Experiment.train_steps_per_iteration=4"], 4),
    # Continuous PPO with gSDE: 2 rollouts of 4 x 32 steps.
    "ppo_pendulum.gin": (["train.Experiment.collect_steps_per_iteration=128"], 2),
}


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(AGENT_RUNS))
def test_each_agents_run_evaluates_and_films(tmp_path, config):
  bindings, iterations = AGENT_RUNS[config]
  root = tmp_path / "run"
  gin_args = [a for b in bindings + [f"train.Experiment.num_iterations={iterations}",
                                     f"train.Experiment.eval_interval={iterations}",
                                     "train.Experiment.num_eval_episodes=2"]
              for a in ("--gin-param", b)]
  result = rlrun("train", "--config", config, "--root-dir", str(root), *gin_args)
  assert result.returncode == 0, result.stderr
  report = json.loads(rlrun("eval", "--root-dir", str(root), "--episodes", "2", "--json").stdout)
  assert report["NumEpisodes"] == 2 and len(report["Returns"]) == 2
  episode_limit = 200 if config.endswith("pendulum.gin") else 500
  assert all(1 <= n <= episode_limit for n in report["EpisodeLengths"])
  if config.endswith("pendulum.gin"):  # Pendulum's reward is at most 0 per step
    assert all(-16.3 * n <= r <= 0 for r, n in zip(report["Returns"], report["EpisodeLengths"]))
  video = tmp_path / "clip.mp4"
  result = rlrun("record-video", "--root-dir", str(root), "--output", str(video), "--fps", "30")
  assert result.returncode == 0, result.stderr
  frames = imageio.mimread(video, memtest=False)
  assert len(frames) >= 9 and frames[0].ndim == 3


def test_a_recording_that_fails_midway_leaves_no_file_or_directory(smoke_run, tmp_path,
                                                                   monkeypatch, capsys):
  from rlrun import cli
  from rlrun.commands import video
  from rlrun.errors import UserError
  root, _ = smoke_run
  calls = []
  def failing_frame(env):
    calls.append(env)
    if len(calls) > 3:
      raise UserError("cannot film the environment: the display went away")
    return np.zeros((8, 8, 3), np.uint8)
  monkeypatch.setattr(video, "_frame", failing_frame)
  closed = []
  real_get_writer = imageio.get_writer
  def get_writer(*args, **kwargs):
    writer = real_get_writer(*args, **kwargs)
    real_close = writer.close
    writer.close = lambda: (closed.append(True), real_close())
    return writer
  monkeypatch.setattr(imageio, "get_writer", get_writer)
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["record-video", "--root-dir", str(root), "--output",
              str(tmp_path / "new dir" / "sub" / "clip.mp4")])
  assert exit_info.value.code == 2 and len(calls) == 4
  assert closed  # ffmpeg finished before the partial file and directories went
  assert "the display went away" in capsys.readouterr().err
  assert list(tmp_path.iterdir()) == []


def test_an_output_whose_partial_file_cannot_be_made_leaves_no_directory(smoke_run, tmp_path,
                                                                       capsys):
  from rlrun import cli
  root, _ = smoke_run
  # The partial file's name is longer than the output's: it goes over the 255-byte limit.
  output = tmp_path / "new" / "sub" / ("v" * 248 + ".mp4")
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["record-video", "--root-dir", str(root), "--output", str(output)])
  assert exit_info.value.code == 2 and "cannot write --output" in capsys.readouterr().err
  assert list(tmp_path.iterdir()) == []
