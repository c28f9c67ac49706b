"""One timed run of Dopamine's JAX DQN on Atari, for scripts/bench_atari.py (runs in its venv).

    python dopamine_atari_loop.py --game Pong --iterations 1000 --seed 0

The agent is dopamine.jax.agents.dqn.dqn_agent.JaxDQNAgent driven the way Dopamine's own
runner drives it (begin_episode / step / end_episode on atari_lib's preprocessed
environment), with rlrun's gin_configs/dqn_atari100k.gin where Dopamine exposes the setting:
no sticky actions, frame skip 4, 84x84 frames stacked by 4, a lost life terminal, 10-step
returns, one update of batch 32 per agent step after 1600 steps, the target copied every
update, Adam (learning rate 1e-4, epsilon 1.5e-4), the Huber loss, epsilon 1 -> 0.01 over
5000 steps, a replay of 100k transitions. Differences its API fixes: Dopamine's DQN target
is the max of the target network (rlrun's config uses double Q: one more forward pass of the
online network per update), and its replay compresses each stored transition.

The loop is timed as bench_atari.py times rlrun's: from the end of the 1600 warm-up steps to
the end of --iterations more (1 agent step + 1 update each), compiling the update included.
Prints one JSON line {"agent_steps_per_s", "iterations", "seconds"}.
"""

import argparse
import json
import sys
import time
import types

WARMUP = 1600


def _without_baselines() -> None:
  """atari_lib imports OpenAI baselines' wrappers, used only for its PPO preprocessing."""
  for name in ("baselines", "baselines.common", "baselines.common.atari_wrappers"):
    sys.modules.setdefault(name, types.ModuleType(name))
  sys.modules["baselines"].common = sys.modules["baselines.common"]
  sys.modules["baselines.common"].atari_wrappers = sys.modules["baselines.common.atari_wrappers"]


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--game", default="Pong")
  parser.add_argument("--iterations", type=int, default=1000)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  _without_baselines()
  import gin
  from dopamine.discrete_domains import atari_lib
  from dopamine.jax.agents.dqn import dqn_agent
  gin.parse_config([
      "atari_lib.AtariPreprocessing.terminal_on_life_loss = True",
      "dqn_agent.create_optimizer.learning_rate = 1e-4",
      "dqn_agent.create_optimizer.eps = 1.5e-4",
      "ReplayBuffer.max_capacity = 100000",
      "ReplayBuffer.batch_size = 32",
  ])
  env = atari_lib.create_atari_environment(game_name=args.game, sticky_actions=False)
  agent = dqn_agent.JaxDQNAgent(
      num_actions=env.action_space.n, gamma=0.99, update_horizon=10,
      min_replay_history=WARMUP, update_period=1, target_update_period=1,
      epsilon_train=0.01, epsilon_decay_period=5000, loss_type="huber", seed=args.seed)
  observation = env.reset()
  action = agent.begin_episode(observation)
  start = None
  for step in range(WARMUP + args.iterations):
    if step == WARMUP:
      start = time.perf_counter()
    observation, reward, terminal, _ = env.step(action)
    if env.game_over:  # as Dopamine's runner: a new game after the whole game ends
      agent.end_episode(reward, terminal)
      action = agent.begin_episode(env.reset())
    elif terminal:  # a lost life: the episode ends for learning, the game goes on
      agent.end_episode(reward, terminal)
      action = agent.begin_episode(observation)
    else:
      action = agent.step(reward, observation)
  seconds = time.perf_counter() - start
  print(json.dumps({"agent_steps_per_s": args.iterations / seconds,
                    "iterations": args.iterations, "seconds": seconds}))


if __name__ == "__main__":
  main()
