"""Where a training run's wall time goes: collect, sample+train, eval, checkpoint, export.

Builds the experiment of a config in a temporary directory, wraps its phases with timers
and trains for --iterations. Also times the learner on one cached batch (no replay I/O),
so the share of sampling can be read off.

Usage:
  python scripts/profile_loop.py --config dqn_cartpole.gin --iterations 5000 \
      [--gin-param BINDING ...]
"""

import argparse
import collections
import tempfile
import time
from typing import Callable, Dict

from rlrun import configs


def timed(fn: Callable, totals: Dict[str, float], name: str,
          first_name: str = "") -> Callable:
  """Adds fn's time to totals[name]; the first call goes to totals[first_name] if given."""
  calls = [0]
  def wrapper(*args, **kwargs):
    started = time.perf_counter()
    try:
      return fn(*args, **kwargs)
    finally:
      key = first_name if first_name and calls[0] == 0 else name
      totals[key] += time.perf_counter() - started
      calls[0] += 1
  return wrapper


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="dqn_cartpole.gin")
  parser.add_argument("--iterations", type=int, default=5000)
  parser.add_argument("--gin-param", action="append", default=[])
  args = parser.parse_args()
  from rlrun.train.experiment import Experiment
  configs.parse(configs.resolve(args.config),
                args.gin_param + [f"train.Experiment.num_iterations={args.iterations}"])
  totals: Dict[str, float] = collections.defaultdict(float)
  with tempfile.TemporaryDirectory() as root:
    experiment = Experiment(root_dir=root)
    experiment.build()
    trainer = experiment.trainer
    learner = trainer.learner
    experiment.collector.run = timed(experiment.collector.run, totals, "collect (collector.run)")
    learner.train = timed(learner.train, totals, "sample + train (learner.train)",
                          "first learner call (trace + compile)")
    trainer.publish = timed(trainer.publish, totals, "publish weights")
    for trigger, name in ((trainer.eval_trigger, "eval"),
                          (trainer.checkpoint_trigger, "checkpoint (agent + replay)"),
                          (trainer.policy_trigger, "policy SavedModel export"),
                          (trainer.rate_trigger, "steps/sec summary")):
      trigger._fn = timed(trigger._fn, totals, name)  # pylint: disable=protected-access
    trainer.write_summaries = timed(trainer.write_summaries, totals, "summaries")
    started = time.perf_counter()
    experiment.run()
    wall = time.perf_counter() - started
    print(f"{args.iterations} iterations in {wall:.2f} s ({args.iterations / wall:.1f} it/s)")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
      print(f"  {name:45s} {seconds:7.2f} s  {100 * seconds / wall:5.1f}%  "
            f"{1e6 * seconds / args.iterations:9.1f} us/iteration")
    print(f"  {'other (loop, progress, final save)':45s} {wall - sum(totals.values()):7.2f} s")
    # The learner alone on one cached batch: no replay sampling at all.
    if learner._dataset_fn is not None:  # pylint: disable=protected-access
      cached = learner._dataset_fn().take(1).cache().repeat()  # pylint: disable=protected-access
      learner._iterator = iter(cached)  # pylint: disable=protected-access
      per_call = experiment.settings.iterations_per_call * trainer.train_steps_per_iteration
      learner.train(per_call)
      calls = max(1, 2000 // per_call)
      started = time.perf_counter()
      for _ in range(calls):
        learner.train(per_call)
      print(f"  learner on a cached batch: {1e6 * (time.perf_counter() - started) / (calls * per_call):.1f}"
            " us/train step (no replay I/O)")
    experiment.close()


if __name__ == "__main__":
  main()
