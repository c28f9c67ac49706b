"""Learning tests from the shipped configs: DQN and PPO on CartPole, C51 and DQN on
CartPole-v1, SAC, TD3 and PPO on Pendulum."""

import json

import pytest

from cli_helpers import rlrun


def best_return(tmp_path, seed: int):
  root = tmp_path / f"seed{seed}"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--root-dir", str(root), "--seed",
                 str(seed), timeout=900)
  assert result.returncode == 0, result.stderr
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert evals[-1]["step"] == 20000 and len(evals) == 21
  return max(e["AverageReturn"] for e in evals), [(e["step"], e["AverageReturn"]) for e in evals]


@pytest.mark.slow
def test_dqn_cartpole_reaches_195_within_its_20000_iterations(tmp_path):
  # The tutorial's hyperparameters (gamma 1, target copied every step) let Q-values
  # diverge; about 1 run in 16 stalls below 195 (BENCHMARKS.md). Runs are not
  # reproducible (Reverb's sampler is unseeded), so a second seed is tried before
  # failing: a broken learner fails both, chance alone fails both ~0.3% of the time.
  best, curve = best_return(tmp_path, 0)
  if best < 195:
    best, second = best_return(tmp_path, 1)
    curve = {"seed 0": curve, "seed 1": second}
  assert best >= 195, curve


def best_sac_pendulum_return(tmp_path, seed: int):
  root = tmp_path / f"sac-seed{seed}"
  result = rlrun("train", "--config", "sac_pendulum.gin", "--root-dir", str(root), "--seed",
                 str(seed), "--gin-param", "train.Experiment.num_iterations=8000", timeout=900)
  assert result.returncode == 0, result.stderr
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  return max(e["AverageReturn"] for e in evals), [(e["step"], e["AverageReturn"]) for e in evals]


@pytest.mark.slow
def test_sac_pendulum_gets_better_than_minus_250(tmp_path):
  # A random policy scores about -1200 to -1500 on Pendulum-v1; -250 means it swings up
  # and balances from most starts. As for DQN, a second seed is tried before failing.
  best, curve = best_sac_pendulum_return(tmp_path, 0)
  if best <= -250:
    best, second = best_sac_pendulum_return(tmp_path, 1)
    curve = {"seed 0": curve, "seed 1": second}
  assert best > -250, curve


@pytest.mark.slow
def test_td3_pendulum_gets_better_than_minus_200_within_20k_steps(tmp_path):
  # The shipped config as is (RL Zoo's: 10000 random steps, then 10000 steps of 1 env
  # step + 1 train step). Deterministic mode makes the run reproducible, so one seed
  # decides (RL Zoo's TD3 Pendulum-v1 figure: -152 +- 90 at 20k steps).
  root = tmp_path / "td3"
  result = rlrun("train", "--config", "td3_pendulum.gin", "--root-dir", str(root),
                 "--deterministic", timeout=1200)
  assert result.returncode == 0, result.stderr
  evals = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert evals[-1]["step"] == 10000
  assert max(e["AverageReturn"] for e in evals) > -200, [(e["step"], e["AverageReturn"])
                                                         for e in evals]


def ppo_evals(tmp_path, config: str):
  root = tmp_path / config
  result = rlrun("train", "--config", config, "--root-dir", str(root), timeout=1200)
  assert result.returncode == 0, result.stderr
  return [(e["step"], e["AverageReturn"]) for e in
          map(json.loads, (root / "eval" / "results.jsonl").read_text().splitlines())]


@pytest.mark.slow
def test_ppo_cartpole_reaches_475_within_100k_steps(tmp_path):
  # The shipped config as is: 390 rollouts of 8 x 32 steps (99840 steps; RL Zoo's PPO
  # CartPole-v1 figure: 500 at 100k).
  evals = ppo_evals(tmp_path, "ppo_cartpole.gin")
  assert evals[-1][0] == 390
  assert max(r for _, r in evals) >= 475, evals


@pytest.mark.slow
def test_ppo_pendulum_gets_better_than_minus_250_within_100k_steps(tmp_path):
  # The shipped config as is: gSDE, 25 rollouts of 4 x 1024 steps (102400 steps; RL Zoo's
  # PPO Pendulum-v1 figure, with gSDE: -172 +- 104 at 100k).
  evals = ppo_evals(tmp_path, "ppo_pendulum.gin")
  assert evals[-1][0] == 25
  assert max(r for _, r in evals) > -250, evals


def deterministic_evals(tmp_path, config: str, seed: int):
  root = tmp_path / f"{config}-seed{seed}"
  result = rlrun("train", "--config", config, "--root-dir", str(root), "--seed", str(seed),
                 "--deterministic", timeout=1200)
  assert result.returncode == 0, result.stderr
  return [(e["step"], e["AverageReturn"]) for e in
          map(json.loads, (root / "eval" / "results.jsonl").read_text().splitlines())]


@pytest.mark.slow
@pytest.mark.parametrize("config", ["c51_cartpole.gin", "dqn_cartpole_v1.gin"])
def test_a_cartpole_v1_config_reaches_475_within_50k_steps(tmp_path, config):
  # The shipped config as is: 1000 random steps, then 191 iterations of 256 environment
  # steps and 128 train steps (49896 steps; RL Zoo's DQN CartPole-v1 figure: 500 at 50k).
  # Deterministic runs repeat exactly on one machine, so a seed decides; another machine's
  # kernels may round differently, so a second seed is tried before failing.
  evals = deterministic_evals(tmp_path, config, 0)
  assert evals[-1][0] == 191
  if max(r for _, r in evals) < 475:
    evals = {"seed 0": evals, "seed 1": deterministic_evals(tmp_path, config, 1)}
    assert max(r for _, r in evals["seed 1"]) >= 475, evals
