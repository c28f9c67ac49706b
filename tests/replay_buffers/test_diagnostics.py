"""replay/ diagnostics: the values match a hand-driven Reverb table and LocalReplay."""

import numpy as np
import pytest
import reverb

from rlrun.replay_buffers.diagnostics import ReplayDiagnostics, reverb_counters
from rlrun.replay_buffers.local_replay import LocalReplay

from test_reverb_replay import DATA_SPEC, EPISODE_LENGTHS, EXPECTED_ITEMS, _episode_trajectories


class Clock:
  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def _insert(client, table, count):
  with client.trajectory_writer(1) as writer:
    for i in range(count):
      writer.append({"x": np.float32(i)})
      writer.create_item(table, 1.0, {"x": writer.history["x"][-1:]})


@pytest.mark.parametrize("limited", [False, True])
def test_values_match_known_inserts_and_samples(limited):
  limiter = (reverb.rate_limiters.SampleToInsertRatio(2.0, 1, 100.0) if limited
             else reverb.rate_limiters.MinSize(1))
  table = reverb.Table("t", max_size=40, sampler=reverb.selectors.Uniform(),
                       remover=reverb.selectors.Fifo(), rate_limiter=limiter)
  server = reverb.Server([table])
  try:
    client = reverb.Client(f"localhost:{server.port}")
    clock = Clock()
    diagnostics = ReplayDiagnostics(lambda: reverb_counters(client, "t"), clock)
    _insert(client, "t", 10)
    list(client.sample("t", num_samples=5))
    first = diagnostics.measure()
    assert first["size"] == 10 and first["fill"] == 0.25 and first["samples_per_insert"] == 0.5
    assert "inserts_per_second" not in first  # no interval yet
    assert first.get("samples_per_insert_target") == (2.0 if limited else None)
    _insert(client, "t", 40)  # 50 inserted, the table holds its 40
    list(client.sample("t", num_samples=15))
    clock.now += 4.0
    second = diagnostics.measure()
    assert second["size"] == 40 and second["fill"] == 1.0
    assert second["inserts_per_second"] == 10.0 and second["samples_per_second"] == 3.75
    assert second["samples_per_insert"] == 20 / 50
  finally:
    server.stop()


def test_local_replay_counts_its_items_and_samples():
  replay = LocalReplay(DATA_SPEC, 2, capacity=4, seed=0)
  clock = Clock()
  diagnostics = ReplayDiagnostics(replay.counters, clock)
  for episode, length in enumerate(EPISODE_LENGTHS):
    for trajectory in _episode_trajectories(episode, length):
      replay(trajectory)
  replay.sample(batch_size=3, count=2)
  clock.now += 2.0
  diagnostics.measure()
  replay.sample(batch_size=5)
  clock.now += 2.0
  values = diagnostics.measure()
  assert values["size"] == min(4, EXPECTED_ITEMS) and values["fill"] == values["size"] / 4
  assert values["samples_per_insert"] == 11 / EXPECTED_ITEMS
  assert values["samples_per_second"] == 2.5 and values["inserts_per_second"] == 0.0


def test_sample_stats_of_a_hand_made_batch():
  import tensorflow as tf
  from rlrun.train.learner import sample_stats
  info = reverb.SampleInfo(key=tf.constant([1, 2, 3, 4], tf.uint64),
                           probability=tf.constant([0.5, 0.25, 0.125, 0.125], tf.float64),
                           table_size=tf.constant([4] * 4, tf.int64),
                           priority=tf.constant([4.0, 2.0, 1.0, 1.0], tf.float64),
                           times_sampled=tf.constant([0, 3, 1, 2], tf.int32))
  uniform = {k: float(v) for k, v in sample_stats(info, prioritized=False).items()}
  assert uniform == {"times_sampled_mean": 1.5, "times_sampled_max": 3.0}
  # Stamped items: written at train steps 4, 2, 1, 1; now 10: 6, 8, 9 and 9 steps old.
  stamped = {k: float(v) for k, v in sample_stats(info, False, tf.constant(10, tf.int64)).items()}
  assert (stamped["staleness_mean"], stamped["staleness_max"]) == (8.0, 9.0)
  stats = {k: float(v) for k, v in sample_stats(info, True, tf.constant(10, tf.int64)).items()}
  assert "staleness_mean" not in stats  # a prioritized table's priorities are priorities
  assert (stats["priority_min"], stats["priority_mean"], stats["priority_max"]) == (1.0, 2.0, 4.0)
  # Inverse probabilities 2, 4, 8, 8: (22)^2 / (4 + 16 + 64 + 64) / 4 batch items.
  assert stats["effective_sample_size"] == pytest.approx(22 ** 2 / 148 / 4)


def test_a_server_that_does_not_answer_gives_no_values():
  def unreachable():
    raise reverb.errors.DeadlineExceededError("gone")
  assert ReplayDiagnostics(unreachable).measure() == {}
