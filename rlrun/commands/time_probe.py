"""`rlrun check`'s time estimate: a few iterations of the real loop, timed after warm-up.

In the check's scratch directory the experiment is started (replay, collector, trainer), a
few random steps fill the replay so batches can be sampled, one group of iterations warms
up (tf.function tracing, XLA compilation), and then whole groups are timed, as the loop runs
them, until PROBE_ITERATIONS iterations or PROBE_SECONDS have passed. The run's time is then
initial_collect_steps x the random step + num_iterations x the iteration + the evaluations,
bounded above: a step of the evaluation environments in lockstep (the greedy policy on the
batch, each environment's step) is timed, and every episode is taken to last its step limit.
Checkpoints and policy exports are not counted (`rlrun check` measures their size).
"""

import math
import time
from typing import Any, Dict, Optional

import numpy as np
import tree

from rlrun.builders.builder import LoopKind
from rlrun.errors import UserError

PROBE_ITERATIONS = 50
PROBE_SECONDS = 3.0
RANDOM_STEPS = 200
# The most random steps the probe takes to fill the table before calling it unfillable.
MAX_FILL_STEPS = 200_000
EVAL_STEPS = 100


def probe(experiment, step_limit: Optional[int]) -> Dict[str, Any]:
  """Times the started experiment; `step_limit`: the episodes' (None: no limit).

  Raises:
    UserError: when random steps do not fill the table enough to sample from it.
  """
  settings = experiment.settings
  trainer = experiment.trainer
  trainer.publish()
  random_step_s, stored = None, None
  if experiment.parts.builder.loop_kind is not LoopKind.ON_POLICY:
    random_step_s = _fill(experiment)
    stored = _stored_item_bytes(experiment)
  group = trainer.loop.max_group
  trainer.run_group(group)  # warm-up: tracing and compilation
  iterations, started = 0, time.perf_counter()
  while iterations < PROBE_ITERATIONS and (time.perf_counter() - started < PROBE_SECONDS
                                           or iterations == 0):
    trainer.run_group(group)
    iterations += group
  iteration_s = (time.perf_counter() - started) / iterations
  initial_s = settings.initial_collect_steps * (random_step_s or 0.0)
  loop_s = settings.num_iterations * iteration_s
  interval = settings.eval_interval
  evaluations = (math.ceil(settings.num_iterations / interval) + 1) if interval else 1
  evaluator = experiment.evaluator
  wave_s = _eval_wave_step_seconds(evaluator.envs, evaluator.policy)
  eval_s = None
  if step_limit and wave_s is not None:
    waves = math.ceil(settings.num_eval_episodes / len(evaluator.envs))
    eval_s = evaluations * waves * step_limit * wave_s
  total = initial_s + loop_s + (eval_s or 0.0)  # checkpoints and exports not counted
  return {"stored_item_bytes": stored, "iterations_timed": iterations, "iteration_seconds": iteration_s,
          "random_step_seconds": random_step_s, "initial_collect_seconds": initial_s,
          "iterations_seconds": loop_s, "eval_step_seconds": wave_s,
          "evaluations": evaluations, "eval_episodes": settings.num_eval_episodes,
          "eval_envs": len(evaluator.envs),
          "eval_seconds_at_most": eval_s, "run_seconds": total}


def _eval_wave_step_seconds(envs, policy) -> Optional[float]:
  """Seconds per lockstep step of the evaluation environments (after 10 untimed steps);
  None for a policy with state (not timed)."""
  if tree.flatten(policy.get_initial_state()):
    return None
  if hasattr(policy, "update"):
    policy.update()
  time_steps = [env.reset() for env in envs]
  started = None
  for step in range(10 + EVAL_STEPS):
    if step == 10:
      started = time.perf_counter()
    batch = tree.map_structure(lambda *xs: np.stack(xs), *time_steps)
    actions = policy.action(batch).action
    for i, env in enumerate(envs):
      time_steps[i] = env.step(actions[i])
      if time_steps[i].is_last():
        time_steps[i] = env.reset()
  return (time.perf_counter() - started) / EVAL_STEPS


def _fill(experiment) -> float:
  """Random steps until the table can be sampled (a batch beyond the sampling threshold);
  returns the seconds per step. The loop's own random steps may be fewer (or none)."""
  settings, replay = experiment.settings, experiment.replay_buffer
  wanted = experiment.min_size_to_sample + settings.batch_size
  taken, started = 0, time.perf_counter()
  while replay.num_frames() < wanted:
    if taken >= MAX_FILL_STEPS:
      raise UserError(f"{taken} random steps left the replay at {replay.num_frames()} items, "
                      f"short of the {wanted} it needs to sample (min_size_to_sample + "
                      "batch_size); the run would wait forever: lower "
                      "replay.make_table.min_size_to_sample")
    steps = min(max(RANDOM_STEPS, wanted - replay.num_frames()), MAX_FILL_STEPS - taken)
    experiment.collector.initial_collect(steps, seed=settings.seed + taken)
    experiment.collector.observer.flush()
    taken += steps
  return (time.perf_counter() - started) / max(taken, 1)


def _stored_item_bytes(experiment) -> Optional[int]:
  """The bytes of one real item as the Reverb table hands it out (None: local replay)."""
  client = getattr(experiment.replay_buffer, "py_client", None)
  if client is None:
    return None
  sample = next(client.sample(experiment.parts.builder.table_name, num_samples=1,
                              emit_timesteps=False))
  return int(sum(np.asarray(leaf).nbytes for leaf in tree.flatten(sample.data)))


def duration(seconds: float) -> str:
  """'850 ms', '42 s', '12 min', '3.4 h'."""
  if seconds < 1:
    return f"{seconds * 1e3:.3g} ms"
  if seconds < 120:
    return f"{seconds:.0f} s"
  if seconds < 7200:
    return f"{seconds / 60:.0f} min"
  return f"{seconds / 3600:.1f} h"


def text(found: Dict[str, Any]) -> str:
  random = (f", {duration(found['random_step_seconds'])} per random step"
            if found["random_step_seconds"] is not None else "")
  evals = found["eval_seconds_at_most"]
  return (f"time: ~{duration(found['iteration_seconds'])} per iteration "
          f"({found['iterations_timed']} timed after a warm-up){random}; the run: ~"
          f"{duration(found['run_seconds'])} (initial collection "
          f"{duration(found['initial_collect_seconds'])}, iterations "
          f"{duration(found['iterations_seconds'])}, {found['evaluations']} evaluations of "
          f"{found['eval_episodes']} episodes "
          + (f"at most {duration(evals)} if every episode lasts its step limit)"
             if evals is not None else "not counted: no step limit, or a policy with state)"))
