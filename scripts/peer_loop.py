"""One timed training run of a peer library, for scripts/bench_peers.py (runs in the peers' venv).

    python peer_loop.py --library sb3|sbx --task dqn_cartpole|sac_pendulum --seed S
        --iterations N

Each task is set up the way that library's users would write it, with the hyperparameters
of rlrun's shipped config where the library exposes them (network sizes, batch size,
learning rate, replay size, warm-up steps, gamma, target updates, exploration). Training
iterations are counted from the end of the warm-up (the peers' learning_starts, rlrun's
initial_collect_steps), as rlrun counts them. Every 1000 iterations, and at iteration 0, the
deterministic policy is evaluated on 10 episodes of 10 separate environments stepped
together (SB3's evaluate_policy on a vectorized env, as rlrun evaluates 10 environments in
lockstep); the time spent evaluating is reported so the caller can leave it out of the loop
rate.

Differences the libraries' APIs fix: both peers train DQN on the Huber loss, and SB3 clips
DQN's gradient norm at 10 and initialises as PyTorch does, with Adam's epsilon 1e-8
(bench_peers.py gives rlrun all of these for DQN, PyTorch's ranges for kernels and hidden
biases, the last bias 0; SBX does not clip and keeps Flax's
initialisers); SBX's DQN network repeats the first width of net_arch ([100, 50] builds two
layers of 100). For SAC each library keeps its own initialisers and Adam epsilon.

Prints one JSON line per evaluation ({"step", "AverageReturn", "wall_time"}) and a last line
{"loop_start", "loop_end", "eval_seconds"}. With --final-episodes N, after the timed loop the
trained deterministic policy is also evaluated on N episodes (environments seeded from
--final-seed), and the last line gains "final_return", their mean: a learning
result with less of the start states' luck than the last 10-episode evaluation.

With --profile (for scripts/profile_peers.py) it trains --iterations iterations after the
warm-up without evaluating, timing the whole loop, then times each piece of an iteration
alone on the trained model (the calls the library's own loop makes): env step, the collect
action, the replay insert, a replay sample, and a train call of one gradient step (which
samples its own batch); it prints one JSON line {"loop": ..., "pieces": ...} of wall and
process-CPU microseconds per iteration.
"""

import argparse
import json
import time

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from iteration_split import per_op  # stdlib-only at import: runs in the peers' venv too

EVAL_INTERVAL = 1000
EVAL_EPISODES = 10

TASKS = {
    # rlrun's gin_configs/dqn_cartpole.gin (the TF-Agents DQN tutorial's settings) with
    # gamma 0.99, the target network copied every 100 steps and the Huber loss (bench_peers.py
    # gives rlrun the same): with the tutorial's gamma 1.0 and a copy every step, SB3's Q-values diverge
    # (to ~1e5 within 5000 steps) and it never learns.
    "dqn_cartpole": dict(
        env="CartPole-v0", algorithm="DQN", warmup=100,
        kwargs=dict(learning_rate=1e-3, buffer_size=100000, batch_size=64, gamma=0.99,
                    tau=1.0, target_update_interval=100, train_freq=1, gradient_steps=1,
                    exploration_fraction=1.0, exploration_initial_eps=0.1,
                    exploration_final_eps=0.1, policy_kwargs=dict(net_arch=[100, 50]))),
    # rlrun's gin_configs/sac_pendulum.gin.
    "sac_pendulum": dict(
        env="Pendulum-v1", algorithm="SAC", warmup=1000,
        kwargs=dict(learning_rate=3e-4, buffer_size=100000, batch_size=256, gamma=0.99,
                    tau=0.005, train_freq=1, gradient_steps=1, ent_coef="auto",
                    policy_kwargs=dict(net_arch=[256, 256]))),
}


class TimedEvaluation(BaseCallback):
  """Evaluates every EVAL_INTERVAL training iterations and keeps the time it took apart."""

  def __init__(self, eval_env, warmup: int):
    # eval_env: EVAL_EPISODES environments stepped together, as rlrun evaluates.
    super().__init__()
    self.eval_env, self.warmup = eval_env, warmup
    self.eval_seconds = 0.0
    self.loop_start = None

  def _on_step(self) -> bool:
    iteration = self.num_timesteps - self.warmup
    if iteration >= 0 and iteration % EVAL_INTERVAL == 0:
      if self.loop_start is None:
        self.loop_start = time.time()
      started = time.time()
      value, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=EVAL_EPISODES,
                                 deterministic=True)
      self.eval_seconds += time.time() - started
      print(json.dumps({"step": iteration, "AverageReturn": float(value),
                        "wall_time": time.time()}), flush=True)
    return True


def profile(model, warmup: int, iterations: int, steps: int, batches: int) -> dict:
  """The whole loop's cost per iteration, then each piece alone (see the module docstring)."""
  model.learn(total_timesteps=warmup + 200)  # the first train calls (and any JIT) first
  loop = per_op(lambda: model.learn(total_timesteps=iterations, reset_num_timesteps=False),
                   1)
  loop = {key: value / iterations for key, value in loop.items()}
  env, buffer = model.env, model.replay_buffer
  pieces = {}
  actions = [np.array([env.action_space.sample()]) for _ in range(steps)]
  transitions = []
  def env_step():
    transitions.append(env.step(actions[len(transitions)]))
  pieces["env step"] = per_op(env_step, steps)
  model._last_obs = env.reset()  # pylint: disable=protected-access
  pieces["collect action (policy)"] = per_op(
      lambda: model._sample_action(0, None, 1), steps)  # pylint: disable=protected-access
  inserts = iter(zip(actions, transitions))
  def insert():
    action, (obs, reward, done, info) = next(inserts)
    model._store_transition(buffer, action, obs, reward, done, info)  # pylint: disable=protected-access
  pieces["replay insert"] = per_op(insert, steps)
  pieces["replay sample"] = per_op(
      lambda: buffer.sample(model.batch_size, env=model._vec_normalize_env), batches)  # pylint: disable=protected-access
  model.train(gradient_steps=1, batch_size=model.batch_size)
  pieces["train call (samples its batch)"] = per_op(
      lambda: model.train(gradient_steps=1, batch_size=model.batch_size), batches)
  return {"loop": loop, "pieces": pieces}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--library", choices=["sb3", "sbx"], required=True)
  parser.add_argument("--task", choices=sorted(TASKS), required=True)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--iterations", type=int, required=True)
  parser.add_argument("--final-episodes", type=int, default=0,
                      help="after the loop, evaluate the policy on this many episodes")
  parser.add_argument("--final-seed", type=int, default=20_000,
                      help="seeds the final evaluation's environments")
  parser.add_argument("--profile", action="store_true",
                      help="time the loop and each piece of an iteration; no evaluation")
  parser.add_argument("--profile-steps", type=int, default=2000)
  parser.add_argument("--profile-batches", type=int, default=500)
  args = parser.parse_args()
  task = TASKS[args.task]
  if args.library == "sb3":
    import stable_baselines3 as library
    extra = dict(device="cpu")
  else:
    import sbx as library
    extra = {}
  np.random.seed(args.seed)
  model = getattr(library, task["algorithm"])(
      "MlpPolicy", gym.make(task["env"]), learning_starts=task["warmup"], seed=args.seed,
      verbose=0, **task["kwargs"], **extra)
  if args.profile:
    print(json.dumps(profile(model, task["warmup"], args.iterations, args.profile_steps,
                             args.profile_batches)), flush=True)
    return
  eval_env = make_vec_env(task["env"], n_envs=EVAL_EPISODES, seed=10_000 + args.seed)
  callback = TimedEvaluation(eval_env, task["warmup"])
  model.learn(total_timesteps=task["warmup"] + args.iterations, callback=callback)
  last = {"loop_start": callback.loop_start, "loop_end": time.time(),
          "eval_seconds": callback.eval_seconds}
  if args.final_episodes > 0:
    final_env = make_vec_env(task["env"], n_envs=min(EVAL_EPISODES, args.final_episodes),
                             seed=args.final_seed)
    last["final_return"], _ = evaluate_policy(model, final_env, deterministic=True,
                                              n_eval_episodes=args.final_episodes)
    last["final_return"] = float(last["final_return"])
  print(json.dumps(last), flush=True)


if __name__ == "__main__":
  main()
