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
