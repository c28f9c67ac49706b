"""The loop's one unit: iterations, with triggers firing exactly on their multiples."""

import io
import json

import gin
import pytest

from rlrun import configs
from rlrun.train.interrupts import StopRequest
from rlrun.train.loop import Loop, next_group
from rlrun.train.progress import Progress
from rlrun.train.triggers import IntervalTrigger


def test_groups_end_on_every_interval_boundary():
  assert next_group(0, 1000, 8, [100, 30]) == 8
  assert next_group(24, 1000, 8, [100, 30]) == 6  # stops at 30
  assert next_group(96, 1000, 8, [100, 30]) == 4  # stops at 100
  assert next_group(995, 1000, 8, [100]) == 5  # stops at num_iterations
  assert next_group(7, 1000, 8, [0, 100]) == 8  # an interval of 0 is none


@pytest.mark.parametrize("max_group", [1, 3, 8])
def test_triggers_fire_at_exactly_their_multiples(max_group):
  fired = {10: [], 25: []}
  counter = {"iteration": 0}
  def work(count):
    counter["iteration"] += count
  def trigger(interval):
    return IntervalTrigger(interval, lambda: fired[interval].append(counter["iteration"]))
  loop = Loop(100, max_group, [trigger(10), trigger(25)],
              Progress(100, stream=io.StringIO(), live=False))
  with StopRequest() as stop:
    end = loop.run(0, work, lambda: counter["iteration"], stop)
  assert end == 100
  assert fired[10] == list(range(10, 101, 10))
  assert fired[25] == [25, 50, 75, 100]


@pytest.mark.parametrize("collect_steps,train_steps", [(2, 4), (4, 2)])
def test_a_run_counts_iterations_for_any_steps_per_iteration(tmp_path, collect_steps, train_steps):
  from rlrun.train.experiment import Experiment
  configs.parse(configs.resolve("dqn_cartpole.gin"), [
      "train.Experiment.num_iterations = 30", "train.Experiment.initial_collect_steps = 64",
      f"train.Experiment.collect_steps_per_iteration = {collect_steps}",
      f"train.Experiment.train_steps_per_iteration = {train_steps}",
      "train.Experiment.eval_interval = 10", "train.Experiment.checkpoint_interval = 15",
      "train.Experiment.policy_save_interval = 30", "train.Experiment.summary_interval = 5",
      "train.Experiment.num_eval_episodes = 1", "train.Experiment.iterations_per_call = 8"])
  root = tmp_path / "run"
  experiment = Experiment(root_dir=str(root))
  try:
    experiment.build()
    saved = []
    original = experiment.checkpointer.save
    experiment.checkpointer.save = lambda number, *args, **kwargs: saved.append(number) or original(
        number, *args, **kwargs)
    assert experiment.run(Progress(30, stream=io.StringIO(), live=False)) == "finished"
    assert experiment.iteration == 30
    assert int(experiment.train_step.numpy()) == 30 * train_steps
    assert experiment.collector.env_steps == 64 + 30 * collect_steps
  finally:
    experiment.close()
    gin.clear_config()
  steps = [json.loads(l)["step"] for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert steps == [0, 10, 20, 30]
  assert saved == [15, 30]  # the final checkpoint is the interval's at 30, not a second one
