"""Trainer: the order of collecting and sampling within a group of iterations."""

import time

from rlrun import configs


def test_overlapped_collection_never_writes_into_a_local_replay_while_it_is_sampled(tmp_path):
  """With overlap_collection, the collecting thread writes while the learner trains; an
  in-process replay is sampled before that thread starts, so a group's batches hold only
  what was written before the group (the same rule as without overlap, one group late)."""
  from rlrun.train.experiment import Experiment
  configs.parse(configs.resolve("dqn_cartpole"), [
      "train.Experiment.replay = 'local'", "train.Experiment.overlap_collection = True",
      "train.Experiment.initial_collect_steps = 100", "train.Experiment.num_iterations = 64",
      "train.Experiment.num_eval_episodes = 1"])
  experiment = Experiment(root_dir=str(tmp_path / "run"))
  experiment.build()
  replay, seen = experiment.replay_buffer, []
  sample = replay.sample
  def slow_sample(*args, **kwargs):
    time.sleep(0.05)  # room for a collecting thread that runs meanwhile to write its steps
    seen.append(replay.num_frames())
    return sample(*args, **kwargs)
  replay.sample = slow_sample
  try:
    experiment.initial_collect()
    for _ in range(3):
      before = replay.num_frames()
      experiment.trainer.run_group(8)
      assert seen[-1] == before
      assert replay.num_frames() > before  # the group did collect
  finally:
    experiment.close()


def _run_signalled_during_group(built_experiment, signalled_group: int):
  """Runs 64 iterations in groups of 16 (eval every 50: not a divisor), sending this process
  SIGINT while group `signalled_group` (0-based) trains; returns (status, eval steps)."""
  import os
  import signal
  with built_experiment([
      "train.Experiment.num_iterations = 64", "train.Experiment.iterations_per_call = 16",
      "train.Experiment.eval_interval = 50", "train.Experiment.checkpoint_interval = 64",
      "train.Experiment.num_eval_episodes = 1", "train.Experiment.initial_collect_steps = 64",
  ]) as experiment:
    trainer, groups = experiment.trainer, []
    run_group = trainer.run_group
    def signalled(count):
      if len(groups) == signalled_group:
        os.kill(os.getpid(), signal.SIGINT)  # caught by the run's StopRequest
      groups.append(count)
      return run_group(count)
    trainer.run_group = signalled
    status = trainer.run()
    return status, [r["step"] for r in trainer.evaluator.results]


def test_a_stop_request_during_the_last_group_still_finishes_the_run(built_experiment):
  """The loop reached num_iterations: the run is complete and gets its final evaluation
  (otherwise a rerun would find it finished at 64 and never evaluate there)."""
  status, steps = _run_signalled_during_group(built_experiment, signalled_group=4)
  assert status == "finished" and steps == [0, 50, 64]


def test_a_stop_request_before_the_last_group_interrupts_the_run(built_experiment):
  status, steps = _run_signalled_during_group(built_experiment, signalled_group=1)
  assert status == "interrupted by SIGINT" and steps == [0]
