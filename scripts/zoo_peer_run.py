"""One Stable-Baselines3 training run with RL Baselines3 Zoo's hyperparameters, for
scripts/bench_learning_sb3.py (runs in the peers' venv, never with rlrun).

    python zoo_peer_run.py --task ppo_pendulum --seed S [--eval-episodes N]

Each task is the RL Zoo entry (hyperparams/<algo>.yml) of the rlrun config it is named
after, written as SB3's own API takes it, at RL Zoo's budget. After training, the final
model's deterministic policy is evaluated on --eval-episodes episodes (default 10) of a
separate environment (reset with seed + 1000 once), greedy, as rlrun's learning table
evaluates (its evaluation environments are seeded otherwise). Prints one
JSON line {"final", "episodes", "minutes"}.
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np
from stable_baselines3 import DQN, PPO, TD3
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise


def _dqn(env_id: str, budget: int, **hyperparameters):
  """An RL Zoo dqn.yml entry: a 256-256 Q-network and the entry's other settings."""
  def make(seed: int):
    return DQN("MlpPolicy", gym.make(env_id), policy_kwargs=dict(net_arch=[256, 256]),
               seed=seed, **hyperparameters), budget
  return make


_dqn_cartpole_v1 = _dqn("CartPole-v1", 50000, learning_rate=2.3e-3, batch_size=64,
                        buffer_size=100000, learning_starts=1000, gamma=0.99,
                        target_update_interval=10, train_freq=256, gradient_steps=128,
                        exploration_fraction=0.16, exploration_final_eps=0.04)
_dqn_mountaincar = _dqn("MountainCar-v0", 120000, learning_rate=4e-3, batch_size=128,
                        buffer_size=10000, learning_starts=1000, gamma=0.98,
                        target_update_interval=600, train_freq=16, gradient_steps=8,
                        exploration_fraction=0.2, exploration_final_eps=0.07)


def _td3_pendulum(seed: int):
  env = gym.make("Pendulum-v1")
  noise = NormalActionNoise(np.zeros(1), 0.1 * np.ones(1))
  return TD3("MlpPolicy", env, gamma=0.98, buffer_size=200000, learning_starts=10000,
             action_noise=noise, gradient_steps=1, train_freq=1, learning_rate=1e-3,
             policy_kwargs=dict(net_arch=[400, 300]), seed=seed), 20000


def _ppo_pendulum(seed: int, use_sde: bool = True):
  env = make_vec_env("Pendulum-v1", n_envs=4, seed=seed)
  kwargs = dict(use_sde=True, sde_sample_freq=4) if use_sde else {}
  return PPO("MlpPolicy", env, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
             ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, seed=seed, **kwargs), 100000


TASKS = {
    "dqn_cartpole_v1": ("CartPole-v1", _dqn_cartpole_v1),
    "dqn_mountaincar": ("MountainCar-v0", _dqn_mountaincar),
    "td3_pendulum": ("Pendulum-v1", _td3_pendulum),
    "ppo_pendulum": ("Pendulum-v1", _ppo_pendulum),
    "ppo_pendulum_no_sde": ("Pendulum-v1", lambda seed: _ppo_pendulum(seed, use_sde=False)),
}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--task", choices=sorted(TASKS), required=True)
  parser.add_argument("--seed", type=int, required=True)
  parser.add_argument("--eval-episodes", type=int, default=10)
  options = parser.parse_args()
  start = time.monotonic()
  env_id, make = TASKS[options.task]
  model, budget = make(options.seed)
  model.learn(total_timesteps=budget)
  eval_env = Monitor(gym.make(env_id))
  eval_env.reset(seed=options.seed + 1000)
  returns, _ = evaluate_policy(model, eval_env, n_eval_episodes=options.eval_episodes,
                               deterministic=True, return_episode_rewards=True)
  print(json.dumps({"final": float(np.mean(returns)), "episodes": len(returns),
                    "minutes": (time.monotonic() - start) / 60}))


if __name__ == "__main__":
  main()
