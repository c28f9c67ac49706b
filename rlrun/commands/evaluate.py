"""`rlrun eval`: run a saved policy for N episodes and report its average return."""

import json
import sys
from typing import Optional, TextIO

from rlrun.commands import policy_loading
from rlrun.errors import UserError


def evaluate(root_dir: Optional[str], episodes: int, policy: Optional[str], as_json: bool,
             seed: int = 12345, out: Optional[TextIO] = None, use_run_config: bool = False,
             step: Optional[str] = None, epsilon: float = 0.0) -> int:
  out = sys.stdout if out is None else out
  if episodes < 1:
    raise UserError(f"--episodes must be >= 1, got {episodes}")
  if seed < 0:
    raise UserError(f"--seed must be >= 0, got {seed}")
  if not 0.0 <= epsilon <= 1.0:
    raise UserError(f"--epsilon must be a probability in [0, 1], got {epsilon}")
  path = policy_loading.policy_path(root_dir, policy, step=step)
  loaded = policy_loading.load_policy(path, batch_time_steps=False)
  make_env, source = policy_loading.env_factory(root_dir, loaded, use_run_config)
  acting = loaded
  if epsilon:
    from rlrun.policies.epsilon_greedy_py_policy import EpsilonGreedyPyPolicy
    acting = EpsilonGreedyPyPolicy(loaded, epsilon, seed=seed)
  from rlrun.train.evaluation import evaluate as run_episodes
  envs = []
  try:
    for i in range(min(episodes, 10)):
      envs.append(policy_loading.checked_env(make_env, seed + i, loaded))
  except BaseException:
    for env in envs:
      env.close()
    raise
  try:
    result = run_episodes(envs, acting, episodes, per_episode=True)
  finally:
    for env in envs:
      env.close()
  result.update(policy=str(path), train_step=loaded.get_train_step(), environment=source,
                seed=seed, epsilon=epsilon)
  if as_json:
    out.write(json.dumps(result) + "\n")
  else:
    exploring = f", epsilon {epsilon:g}" if epsilon else ""
    out.write(f"policy {path} (train step {result['train_step']}), {episodes} episodes, "
              f"seed {seed}{exploring}\n"
              f"AverageReturn = {result['AverageReturn']:.2f} (std {result['StdReturn']:.2f}, "
              f"min {result['MinReturn']:.2f}, max {result['MaxReturn']:.2f})\n"
              f"AverageEpisodeLength = {result['AverageEpisodeLength']:.2f}\n"
              f"Returns: {', '.join(f'{r:.1f}' for r in result['Returns'])}\n")
  return 0
