"""Times the pieces of one rlrun training iteration alone, on a built experiment's objects.

Shared by scripts/bench_sac_minitaur.py and scripts/profile_peers.py: environment step,
policy inference, replay insert, replay sample and the train step on a cached batch, each
in wall and process-CPU microseconds per operation (CPU counts every thread, so a piece
that runs on two threads shows CPU > wall).
"""

import time
from typing import Callable, Dict

ENV = "env step (random actions, resets included)"
POLICY = "policy: numpy collect policy (rlrun's)"
TF_POLICY = "policy: TF collect policy via tf.function (reference)"
INSERT = "replay insert (the run's observer)"
SAMPLE = "replay sample (a batch from the learner's dataset)"
TRAIN = "train step on a cached batch (no replay I/O)"


def per_op(fn: Callable[[], None], count: int) -> Dict[str, float]:
  """Runs fn `count` times; wall and process CPU microseconds per call."""
  wall, cpu = time.perf_counter(), time.process_time()
  for _ in range(count):
    fn()
  return {"wall_us": 1e6 * (time.perf_counter() - wall) / count,
          "cpu_us": 1e6 * (time.process_time() - cpu) / count}


def _dataset(experiment):
  """The learner's replay dataset, made by the run's builder."""
  return experiment.parts.builder.make_dataset(experiment.replay_buffer, experiment.agent,
                                               experiment.settings)


def measure_split(experiment, steps: int, batches: int, train_steps: int) -> Dict[str, dict]:
  """Times the pieces of an iteration one at a time, on the experiment's own objects."""
  import numpy as np
  from rlrun.policies.py_tf_eager_policy import PyTFEagerPolicy
  from rlrun.trajectories import PolicyStep, trajectory

  split: Dict[str, dict] = {}
  # The loop's dataset iterator goes first, so its sampler threads cost nothing here.
  experiment.learner._iterator = None  # pylint: disable=protected-access
  env = experiment.parts.env
  spec = env.action_spec()
  rng = np.random.default_rng(experiment.settings.seed)
  if spec.dtype.kind == "f":
    actions = rng.uniform(spec.minimum, spec.maximum, (steps,) + spec.shape)
  else:
    actions = rng.integers(spec.minimum, spec.maximum + 1, (steps,) + spec.shape)
  actions = actions.astype(spec.dtype)
  time_steps = [env.reset()]
  index = iter(range(steps))
  def env_step():
    time_steps.append(env.step(actions[next(index)]))
  split[ENV] = per_op(env_step, steps)
  split[ENV]["episodes"] = sum(bool(t.is_last()) for t in time_steps)

  # Policy inference on the time steps just seen.
  policy = experiment.collector.policy
  if hasattr(policy, "update"):
    policy.update()
  cycle = iter(time_steps * 2)
  split[POLICY] = per_op(lambda: policy.action(next(cycle)), steps)
  tf_policy = PyTFEagerPolicy(experiment.agent.collect_policy, use_tf_function=True)
  tf_policy.action(time_steps[0])  # traces
  cycle = iter(time_steps * 2)
  split[TF_POLICY] = per_op(lambda: tf_policy.action(next(cycle)), max(1, steps // 2))

  # Replay insert: the run's observer, on these transitions (flush included).
  trajectories = [
      trajectory.from_transition(time_steps[i], PolicyStep(actions[i], (), ()), time_steps[i + 1])
      for i in range(steps)]
  observer = experiment.observer
  observer.reset()
  items = iter(trajectories)
  wall, cpu = time.perf_counter(), time.process_time()
  for _ in range(steps):
    observer(next(items))
  observer.flush()
  split[INSERT] = {"wall_us": 1e6 * (time.perf_counter() - wall) / steps,
                   "cpu_us": 1e6 * (time.process_time() - cpu) / steps}

  learner = experiment.learner
  learner.triggers = []
  group = experiment.settings.iterations_per_call
  calls = max(1, train_steps // group)
  if not hasattr(experiment.replay_buffer, "as_dataset"):
    # An in-process replay: sampled in the calling thread; the train step reuses one
    # group of batches drawn beforehand.
    batch_size = experiment.settings.batch_size
    split[SAMPLE] = per_op(lambda: experiment.replay_buffer.sample(batch_size), batches)
    cached = learner.sample(group)
    learner.train(group, cached)
    result = per_op(lambda: learner.train(group, cached), calls)
    split[TRAIN] = {k: v / group for k, v in result.items()}
    return split

  # Replay sample: the learner's dataset (with its prefetching), back to back.
  iterator = iter(_dataset(experiment))
  for _ in range(3):
    next(iterator)
  split[SAMPLE] = per_op(lambda: next(iterator), batches)
  iterator = None  # stops its sampler threads

  # The train step on one cached batch: no replay I/O.
  cached = _dataset(experiment).take(1).cache().repeat()
  learner._iterator = iter(cached)  # pylint: disable=protected-access
  learner.train(iterations=group)
  result = per_op(lambda: learner.train(iterations=group), calls)
  split[TRAIN] = {k: v / group for k, v in result.items()}
  return split
