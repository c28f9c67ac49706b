"""Policy evaluation: average return and episode length over N episodes, envs in lockstep."""

import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import tree

from rlrun.trajectories import TimeStep


RESULTS_FILE = "results.jsonl"
TIMINGS_FILE = "timings.jsonl"
TIMING_FIELDS = ("eval_seconds", "wall_time")


def results_path(root_dir: str, name: str = RESULTS_FILE) -> str:
  """The run directory's evaluation log: one JSON object per evaluation."""
  return os.path.join(str(root_dir), "eval", name)


def append_result(root_dir: str, record: Dict[str, Any], name: str = RESULTS_FILE) -> None:
  path = results_path(root_dir, name)
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


def evaluate(envs: Sequence, policy, num_episodes: int,
             per_episode: bool = False) -> Dict[str, Any]:
  """Runs `num_episodes` episodes of `policy`, len(envs) at a time.

  The policy is called on a batch of observations (one per running env), so a
  numpy or tf.function policy pays its per-call cost once per step of the batch.

  Returns:
    {'AverageReturn': ..., 'AverageEpisodeLength': ..., 'NumEpisodes': ...}; with
    `per_episode` also StdReturn, MinReturn, MaxReturn, Returns and EpisodeLengths (the
    episodes in the order they ended within each wave of len(envs)).
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
  result = {"AverageReturn": float(np.mean(returns)),
            "AverageEpisodeLength": float(np.mean(lengths)), "NumEpisodes": len(returns)}
  if per_episode:
    result.update(StdReturn=float(np.std(returns)), MinReturn=float(np.min(returns)),
                  MaxReturn=float(np.max(returns)), Returns=[float(r) for r in returns],
                  EpisodeLengths=[int(n) for n in lengths])
  return result


class Evaluator:
  """Evaluates a policy on its environments and records the result everywhere it goes.

  Each evaluation is written to eval/ TensorBoard (x-axis: the iteration), appended to
  eval/results.jsonl and to `results`, and announced on `progress` when there is one.

  Args:
    root_dir: the run directory.
    envs: the evaluation environments (stepped in lockstep).
    policy: a numpy-callable policy; its `update()` (if any) is called first.
    num_episodes: episodes per evaluation.
    results: the evaluations so far (e.g. from a checkpoint or results.jsonl).
    reseed: when given, each evaluation first seeds env i from (reseed, iteration, i), so
      it does not depend on the evaluations before it (deterministic runs resume exactly).
  """

  def __init__(self, root_dir: str, envs: Sequence, policy, num_episodes: int,
               results: Optional[List[Dict[str, Any]]] = None, reseed: Optional[int] = None):
    from rlrun.utils.summaries import LazySummaryWriter
    self.root_dir = root_dir
    self.envs = list(envs)
    self.policy = policy
    self.num_episodes = num_episodes
    self.results: List[Dict[str, Any]] = list(results or [])
    self.progress = None
    self._reseed = reseed
    self._writer = LazySummaryWriter(os.path.join(root_dir, "eval"))

  @property
  def last_step(self) -> Optional[int]:
    return self.results[-1]["step"] if self.results else None

  def run(self, iteration: int, **extra: Any) -> Dict[str, Any]:
    """Evaluates now and records the result as that of `iteration`."""
    import tensorflow as tf
    started = time.perf_counter()
    if hasattr(self.policy, "update"):
      self.policy.update()
    if self._reseed is not None:
      seed = lambda i: int(np.random.SeedSequence([self._reseed, iteration, i]).generate_state(1)[0])
      for i, env in enumerate(self.envs):
        env.seed(seed(i))
      if hasattr(self.policy, "seed"):  # a policy that draws random actions (eval_epsilon)
        self.policy.seed(seed(len(self.envs)))
    result = evaluate(self.envs, self.policy, self.num_episodes)
    result["eval_seconds"] = time.perf_counter() - started
    with self._writer.as_default(step=iteration):
      tf.summary.scalar("metrics/AverageReturn", result["AverageReturn"])
      tf.summary.scalar("metrics/AverageEpisodeLength", result["AverageEpisodeLength"])
    self._writer.flush()
    record = dict(result, step=iteration, wall_time=time.time(), **extra)
    if self._reseed is not None:
      # Deterministic runs: results.jsonl holds only what the seed decides; the times of
      # each evaluation go to timings.jsonl beside it.
      timing = {k: record.pop(k) for k in TIMING_FIELDS}
      append_result(self.root_dir, dict(timing, step=iteration), TIMINGS_FILE)
    self.results.append(record)
    append_result(self.root_dir, record)
    if self.progress is not None:
      self.progress.eval_return = result["AverageReturn"]
      self.progress.message(describe(record))
    return record

  def close(self) -> None:
    for env in self.envs:
      env.close()
