"""SAC on pybullet Minitaur through the CLI: train, checkpoint, resume, export, eval, video."""

import json

import pytest

from cli_helpers import gin, rlrun

SHRUNK = [*gin("train.Experiment.initial_collect_steps=200"),
          *gin("train.Experiment.eval_interval=100"),
          *gin("train.Experiment.num_eval_episodes=2"),
          *gin("train.Experiment.eval_parallel_envs=2"),
          *gin("train.Experiment.checkpoint_interval=100"),
          *gin("train.Experiment.policy_save_interval=100"),
          *gin("suite_pybullet.load.max_episode_steps=50")]


@pytest.mark.slow
def test_minitaur_trains_resumes_and_exports(tmp_path):
  root = tmp_path / "minitaur"
  def train(steps):
    return rlrun("train", "--config", "sac_minitaur.gin", "--root-dir", str(root),
                 *gin(f"train.Experiment.num_iterations={steps}"), *SHRUNK, timeout=600)
  first = train(100)
  assert first.returncode == 0, first.stderr
  assert "finished at step 100" in first.stdout
  second = train(150)
  assert second.returncode == 0, second.stderr
  assert "resuming from step 100 of 150" in second.stdout
  assert "finished at step 150" in second.stdout
  for name in ("policy", "collect_policy"):
    meta = json.loads((root / "policies" / name / "rlrun_policy.json").read_text())
    assert meta["train_step"] == 150 and meta["env_name"] == "MinitaurBulletEnv-v0"
  report = rlrun("eval", "--root-dir", str(root), "--episodes", "2", "--json")
  assert report.returncode == 0, report.stderr
  assert json.loads(report.stdout)["AverageEpisodeLength"] <= 50
  video = rlrun("record-video", "--root-dir", str(root), "--output", str(tmp_path / "m.gif"),
                "--fps", "10")
  assert video.returncode == 0, video.stderr
  assert (tmp_path / "m.gif").stat().st_size > 1000
