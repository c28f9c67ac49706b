"""Prioritized replay: importance weights, and priorities updated from TD errors."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.train.learner import importance_weights


def test_importance_weights_normalised_by_the_batch_maximum():
  probability = tf.constant([[0.1, 0.2, 0.4]], tf.float64)
  weights = importance_weights(probability, tf.constant([[10, 10, 10]], tf.int64), 0.5)
  expected = (10 * np.array([0.1, 0.2, 0.4])) ** -0.5
  np.testing.assert_allclose(weights.numpy()[0], expected / expected.max(), rtol=1e-6)


@pytest.fixture
def prioritized_experiment(built_experiment):
  with built_experiment(["replay.make_table.sampler = 'prioritized'",
                         "train.Experiment.num_iterations = 64",
                         "train.Experiment.eval_interval = 0",
                         "train.Experiment.num_eval_episodes = 1"]) as experiment:
    yield experiment


def test_learner_writes_td_errors_back_as_priorities(prioritized_experiment):
  experiment = prioritized_experiment
  experiment.initial_collect()
  updates = []
  original = experiment.learner._priority_update_fn  # pylint: disable=protected-access
  def record(keys, priorities):
    updates.append((keys, priorities))
    original(keys, priorities)
  experiment.learner._priority_update_fn = record  # pylint: disable=protected-access
  experiment.learner.run(iterations=8)
  keys, priorities = updates[-1]
  assert keys.shape == priorities.shape == (8 * 64,)
  assert np.all(priorities > 0) and np.ptp(priorities) > 0
  # The table now holds those priorities for those keys (items may repeat in a batch:
  # compare against the last priority written for each key).
  written = dict(zip(keys.tolist(), priorities.tolist()))
  client = experiment.replay_buffer.py_client
  seen = {s.info.key: s.info.priority
          for s in client.sample("uniform_table", num_samples=200, emit_timesteps=False)}
  overlap = set(seen) & set(written)
  assert overlap
  for key in overlap:
    assert seen[key] == pytest.approx(written[key], rel=1e-5)
  experiment.learner.run(iterations=3)  # a partial group: its steps' errors only
  assert updates[-1][0].shape == updates[-1][1].shape == (3 * 64,)
  assert np.all(updates[-1][1] > 0)


def test_the_summaries_describe_the_sampled_priorities(prioritized_experiment):
  experiment = prioritized_experiment
  experiment.initial_collect()
  for _ in range(5):  # past the prefetched batches, sampled before priorities changed
    experiment.learner.run(iterations=8)
  stats = {k: float(v) for k, v in experiment.learner.last_sample_stats.items()}
  assert 0 < stats["priority_min"] <= stats["priority_mean"] <= stats["priority_max"]
  assert stats["priority_min"] < stats["priority_max"]
  assert 0 < stats["effective_sample_size"] <= 1 and stats["times_sampled_max"] >= 1
  experiment.trainer.write_summaries()
  from rlrun.analysis.event_files import read_scalars
  from pathlib import Path
  tags = read_scalars(Path(experiment.root_dir) / "train")
  assert {"replay/priority_mean", "replay/effective_sample_size", "replay/size",
          "replay/fill"} <= set(tags)

