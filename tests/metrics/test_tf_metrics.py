"""TF metrics: exact values on hand-made batched trajectories, ring buffer, reset, graph use."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.metrics import tf_metrics
from rlrun.trajectories import Trajectory

F, M, L = 0, 1, 2


def _traj(step_type, next_step_type, reward):
  """A Trajectory with only the fields the metrics read filled in meaningfully."""
  step_type = np.asarray(step_type, np.int32)
  return Trajectory(step_type=step_type, observation=np.zeros(step_type.shape, np.float32),
                    action=np.zeros(step_type.shape, np.int64), policy_info=(),
                    next_step_type=np.asarray(next_step_type, np.int32),
                    reward=np.asarray(reward, np.float32),
                    discount=np.ones(step_type.shape, np.float32))


# Two batch entries ending episodes at different times, with boundary steps whose
# reward (100) must be ignored. Episodes: row 0 returns 3 (2 steps), row 1 returns
# 60 (3 steps), row 0 returns 4 (1 step).
BATCH_OF_TWO = [
    _traj([F, F], [M, M], [1, 10]),
    _traj([M, M], [L, M], [2, 20]),
    _traj([L, M], [F, L], [100, 30]),
    _traj([F, L], [L, F], [4, 100]),
]


def _all_metrics(batch_size=2, buffer_size=10):
  return [tf_metrics.AverageReturnMetric(batch_size, buffer_size),
          tf_metrics.AverageEpisodeLengthMetric(batch_size, buffer_size),
          tf_metrics.NumberOfEpisodes(), tf_metrics.EnvironmentSteps()]


def _results(metrics):
  return [m.result().numpy().item() for m in metrics]


def test_batched_trajectories_give_exact_values():
  metrics = _all_metrics()
  assert _results(metrics) == [0.0, 0.0, 0, 0]
  for traj in BATCH_OF_TWO:
    for metric in metrics:
      assert metric(traj) is traj
  returns, lengths, episodes, steps = _results(metrics)
  assert returns == pytest.approx(67 / 3)
  assert lengths == pytest.approx(2.0)
  assert (episodes, steps) == (3, 6)
  assert metrics[2].result().dtype == tf.int64 and metrics[0].result().dtype == tf.float32


def test_names_and_variables():
  metrics = _all_metrics()
  assert [m.name for m in metrics] == ["AverageReturn", "AverageEpisodeLength",
                                       "NumberOfEpisodes", "EnvironmentSteps"]
  assert all(isinstance(m, tf.Module) and m.variables for m in metrics)
  assert tf_metrics.NumberOfEpisodes(name="Episodes").name == "Episodes"


def test_ring_buffer_keeps_the_last_buffer_size_episodes():
  metric = tf_metrics.AverageReturnMetric(batch_size=3, buffer_size=2)
  metric(_traj([F, F, F], [L, L, L], [1, 2, 3]))  # three episodes at once, two slots
  assert metric.result().numpy() == pytest.approx(2.5)
  metric(_traj([L, L, L], [F, F, F], [0, 0, 0]))
  metric(_traj([F, F, F], [L, M, M], [7, 1, 1]))
  assert metric.result().numpy() == pytest.approx(5.0)  # episodes 3 and 7


def test_reset_clears_buffer_counts_and_running_episodes():
  metrics = _all_metrics()
  for traj in BATCH_OF_TWO[:2]:
    for metric in metrics:
      metric(traj)
  for metric in metrics:
    metric.reset()
  assert _results(metrics) == [0.0, 0.0, 0, 0]
  # Row 1 was mid-episode (return 30 so far): after reset only its later steps count.
  for metric in metrics:
    metric(BATCH_OF_TWO[2])
  assert _results(metrics) == [30.0, 1.0, 1, 1]


def test_unbatched_trajectory_with_batch_size_one():
  metric = tf_metrics.AverageReturnMetric()
  for traj in [_traj(F, M, 1.5), _traj(M, L, 2.0), _traj(L, F, 9.0), _traj(F, L, 1.0)]:
    metric(traj)
  assert metric.result().numpy() == pytest.approx((3.5 + 1.0) / 2)


def test_observers_inside_while_loop():
  metrics = _all_metrics(batch_size=2)
  trajs = [tf.nest.map_structure(tf.constant, t) for t in BATCH_OF_TWO]
  stacked = tf.nest.map_structure(lambda *xs: tf.stack(xs), *trajs)

  @tf.function(autograph=False)
  def run():
    def body(i):
      traj = tf.nest.map_structure(lambda x: x[i], stacked)
      for metric in metrics:
        traj = metric(traj)  # observers chain: each returns its input
      with tf.control_dependencies(tf.nest.flatten(traj)):
        return i + 1
    return tf.while_loop(lambda i: i < len(trajs), body, [tf.constant(0)],
                         parallel_iterations=1)

  run()
  assert _results(metrics)[2:] == [3, 6]
  assert _results(metrics)[0] == pytest.approx(67 / 3)


def test_errors_name_the_problem():
  with pytest.raises(ValueError, match="buffer_size=0"):
    tf_metrics.AverageReturnMetric(buffer_size=0)
  with pytest.raises(ValueError, match="batch_size=True"):
    tf_metrics.AverageEpisodeLengthMetric(batch_size=True)
  with pytest.raises(ValueError, match="batch_size=3"):
    tf_metrics.AverageReturnMetric(batch_size=2)(_traj([F, F, F], [M, M, M], [0, 0, 0]))
  with pytest.raises(ValueError, match=r"\[batch, time\]"):
    tf_metrics.NumberOfEpisodes()(_traj([[F, M]], [[M, L]], [[1, 1]]))
  with pytest.raises(ValueError, match="scalar reward"):
    tf_metrics.AverageReturnMetric()(_traj([F], [M], [[1.0, 2.0]]))
  with pytest.raises(TypeError, match="takes a Trajectory"):
    tf_metrics.EnvironmentSteps()((F, M))
