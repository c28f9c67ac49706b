"""Policy evaluation: average return and episode length over N episodes, envs in lockstep."""

import json
import os
from typing import Any, Dict, List, Sequence

import numpy as np
import tree

from rlrun.trajectories import TimeStep


def results_path(root_dir: str) -> str:
  """The run directory's evaluation log: one JSON object per evaluation."""
  return os.path.join(str(root_dir), "eval", "results.jsonl")


def append_result(root_dir: str, record: Dict[str, Any]) -> None:
  path = results_path(root_dir)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "a") as f:
    f.write(json.dumps(record) + "\n")


def read_results(root_dir: str) -> List[Dict[str, Any]]:
  """The evaluations logged so far; a line still being written is left for the next read."""
  try:
    with open(results_path(root_dir)) as f:
      lines = f.read().splitlines()
  except FileNotFoundError:
    return []
  records = []
  for line in lines:
    try:
      records.append(json.loads(line))
    except ValueError:
      break
  return records


def describe(record: Dict[str, Any]) -> str:
  """The progress line of one evaluation."""
  return (f"step {record['step']}: eval AverageReturn = {record['AverageReturn']:.1f}, "
          f"AverageEpisodeLength = {record['AverageEpisodeLength']:.1f}")


def _stack(time_steps: Sequence[TimeStep]) -> TimeStep:
  return tree.map_structure(lambda *xs: np.stack(xs), *time_steps)


def evaluate(envs: Sequence, policy, num_episodes: int) -> Dict[str, float]:
  """Runs `num_episodes` episodes of `policy`, len(envs) at a time.

  The policy is called on a batch of observations (one per running env), so a
  numpy or tf.function policy pays its per-call cost once per step of the batch.

  Returns:
    {'AverageReturn': ..., 'AverageEpisodeLength': ..., 'NumEpisodes': ...}.
  """
  if num_episodes < 1:
    raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
  returns, lengths = [], []
  while len(returns) < num_episodes:
    wave = list(envs[:num_episodes - len(returns)])
    time_steps = [env.reset() for env in wave]
    states = [policy.get_initial_state() for _ in wave]
    # `states[0] != ()` would compare a numpy state elementwise: use the nest's leaves.
    stateful = bool(tree.flatten(states[0]))
    totals, counts = np.zeros(len(wave)), np.zeros(len(wave), np.int64)
    active = list(range(len(wave)))
    while active:
      batch = _stack([time_steps[i] for i in active])
      state = _stack([states[i] for i in active]) if stateful else ()
      step = policy.action(batch, state)
      for j, i in enumerate(active):
        time_steps[i] = wave[i].step(step.action[j])
        if stateful:
          states[i] = tree.map_structure(lambda s: s[j], step.state)
        totals[i] += float(time_steps[i].reward)
        counts[i] += 1
      active = [i for i in active if not time_steps[i].is_last()]
    returns.extend(totals.tolist())
    lengths.extend(counts.tolist())
  return {"AverageReturn": float(np.mean(returns)),
          "AverageEpisodeLength": float(np.mean(lengths)), "NumEpisodes": len(returns)}
