"""py_metrics on hand-built trajectory streams, unbatched and batched."""

import json

import numpy as np
import pytest

from rlrun.metrics import py_metrics
from rlrun.trajectories import Trajectory

F, M, L = 0, 1, 2


def _traj(step_type, next_step_type, reward):
  step_type = np.asarray(step_type, np.int32)
  return Trajectory(step_type=step_type, observation=np.zeros(step_type.shape + (1,), np.float32),
                    action=np.zeros(step_type.shape, np.int32), policy_info=(),
                    next_step_type=np.asarray(next_step_type, np.int32),
                    reward=np.asarray(reward, np.float32),
                    discount=np.ones(step_type.shape, np.float32))


def _episode(rewards):
  """One unbatched episode with the given step rewards, followed by its boundary."""
  types = [F] + [M] * (len(rewards) - 1) + [L]
  trajs = [_traj(types[i], types[i + 1], r) for i, r in enumerate(rewards)]
  return trajs + [_traj(L, F, 0.0)]


def _feed(metrics, trajs):
  for traj in trajs:
    for metric in metrics:
      metric(traj)


def test_unbatched_returns_lengths_and_counts():
  avg, mx = py_metrics.AverageReturnMetric(), py_metrics.MaxReturnMetric()
  length = py_metrics.AverageEpisodeLengthMetric()
  episodes, steps = py_metrics.NumberOfEpisodes(), py_metrics.EnvironmentSteps()
  metrics = [avg, mx, length, episodes, steps]
  assert [m.result() for m in metrics] == [0.0, 0.0, 0.0, 0, 0]
  _feed(metrics, _episode([1.0, 2.0, 3.0]) + _episode([-1.0, 0.5]))
  assert avg.result() == pytest.approx((6.0 - 0.5) / 2)
  assert mx.result() == 6.0
  assert length.result() == pytest.approx(2.5)
  assert episodes.result() == 2 and steps.result() == 5
  assert isinstance(avg.result(), float) and isinstance(steps.result(), int)


def test_unbatched_steps_and_batches_of_one_agree_step_by_step():
  """Unbatched steps take a scalar fast path; it must match the batched arithmetic."""
  rng = np.random.default_rng(0)
  stream = []
  for _ in range(30):
    episode = _episode(rng.normal(size=rng.integers(1, 6)).astype(np.float32).tolist())
    stream += episode[:-1] + [_traj(L, F, 7.0)]  # a boundary's reward counts for nothing
  stream = stream[:-3] + [_traj(F, M, 0.25)] + stream[-3:]  # an episode cut by a reset
  def metrics():
    return [py_metrics.AverageReturnMetric(buffer_size=4), py_metrics.MaxReturnMetric(),
            py_metrics.AverageEpisodeLengthMetric(), py_metrics.NumberOfEpisodes(),
            py_metrics.EnvironmentSteps()]
  scalar, batched = metrics(), metrics()
  for traj in stream:
    _feed(scalar, [traj])
    _feed(batched, [Trajectory(*[np.asarray(x)[None] if i != 3 else x
                                 for i, x in enumerate(traj)])])
    assert [m.get_state() for m in scalar] == [m.get_state() for m in batched]
  assert scalar[3].result() == 30


def test_buffer_keeps_only_the_last_episodes():
  metric = py_metrics.AverageReturnMetric(buffer_size=2)
  _feed([metric], _episode([10.0]) + _episode([1.0]) + _episode([2.0, 1.0]))
  assert metric.result() == pytest.approx(2.0)  # (1 + 3) / 2; the 10 fell out


def test_accumulator_restarts_on_first_and_ignores_boundary_rewards():
  metric = py_metrics.AverageReturnMetric()
  length = py_metrics.AverageEpisodeLengthMetric()
  # An episode cut short by a manual reset (no LAST): its partial return is dropped.
  cut = [_traj(F, M, 100.0), _traj(M, M, 100.0)]
  # A boundary carrying a (bogus) reward must not leak into the next episode.
  stream = cut + [_traj(F, M, 1.0), _traj(M, L, 1.0), _traj(L, F, 50.0), _traj(F, L, 4.0)]
  _feed([metric, length], stream)
  assert metric.result() == pytest.approx((2.0 + 4.0) / 2)
  assert length.result() == pytest.approx(1.5)


def test_batched_entries_are_tracked_separately():
  avg = py_metrics.AverageReturnMetric(batch_size=2)
  length = py_metrics.AverageEpisodeLengthMetric()
  episodes, steps = py_metrics.NumberOfEpisodes(), py_metrics.EnvironmentSteps()
  # Entry 0 runs episodes of 1 step, entry 1 one episode of 3 steps.
  stream = [_traj([F, F], [L, M], [5.0, 1.0]),
            _traj([L, M], [F, M], [0.0, 2.0]),
            _traj([F, M], [L, L], [7.0, 3.0]),
            _traj([L, L], [F, F], [0.0, 0.0])]
  _feed([avg, length, episodes, steps], stream)
  assert avg.result() == pytest.approx((5.0 + 7.0 + 6.0) / 3)
  assert length.result() == pytest.approx(5 / 3)
  assert episodes.result() == 3
  assert steps.result() == 5


def test_state_round_trip_mid_episode_through_json():
  stream = _episode([1.0, 2.0]) + _episode([3.0, 3.0, 3.0])
  reference = py_metrics.AverageReturnMetric(buffer_size=3)
  _feed([reference], stream)
  for cls in (py_metrics.AverageReturnMetric, py_metrics.AverageEpisodeLengthMetric,
              py_metrics.NumberOfEpisodes, py_metrics.EnvironmentSteps):
    first, whole = cls(), cls()
    _feed([first, whole], stream[:5])  # stops inside the second episode
    state = json.loads(json.dumps(first.get_state()))
    restored = cls()
    restored.set_state(state)
    assert restored.get_state() == first.get_state()
    _feed([restored, whole], stream[5:])
    assert restored.result() == whole.result()
  restored = py_metrics.AverageReturnMetric(buffer_size=3)
  partial = py_metrics.AverageReturnMetric(buffer_size=3)
  _feed([partial], stream[:5])
  restored.set_state(partial.get_state())
  _feed([restored], stream[5:])
  assert restored.result() == reference.result() == pytest.approx(6.0)


def test_set_state_rejects_foreign_or_incomplete_states():
  avg = py_metrics.AverageReturnMetric()
  with pytest.raises(ValueError, match="class 'NumberOfEpisodes'"):
    avg.set_state(py_metrics.NumberOfEpisodes().get_state())
  state = avg.get_state()
  del state["buffer"]
  with pytest.raises(ValueError, match="lacks keys"):
    avg.set_state(state)
  with pytest.raises(TypeError):
    avg.set_state([1, 2])
  batched = py_metrics.AverageReturnMetric(batch_size=2)
  single = py_metrics.AverageReturnMetric()
  single(_traj(F, M, 1.0))
  with pytest.raises(ValueError, match="batch_size=2"):
    batched.set_state(single.get_state())


def test_reset_and_names():
  metric = py_metrics.AverageReturnMetric()
  _feed([metric], _episode([2.0]))
  metric.reset()
  assert metric.result() == 0.0
  metric(_traj([F, F], [L, L], [1.0, 2.0]))  # reset() forgets the unbatched shape too
  assert metric.result() == pytest.approx(1.5)
  assert metric.name == "AverageReturn"
  assert py_metrics.EnvironmentSteps(name="env_steps").name == "env_steps"
  assert py_metrics.NumberOfEpisodes().name == "NumberOfEpisodes"


def test_input_validation():
  with pytest.raises(ValueError, match="buffer_size=0"):
    py_metrics.AverageReturnMetric(buffer_size=0)
  with pytest.raises(ValueError, match="batch_size"):
    py_metrics.AverageEpisodeLengthMetric(batch_size=0)
  metric = py_metrics.AverageReturnMetric()
  metric(_traj([F, F], [M, M], [1.0, 1.0]))
  with pytest.raises(ValueError, match="batch of 2"):
    metric(_traj([F, F, F], [M, M, M], [1.0, 1.0, 1.0]))
  with pytest.raises(ValueError, match=r"\[batch, time\]"):
    py_metrics.AverageReturnMetric()(_traj([[F, M]], [[M, M]], [[1.0, 1.0]]))
  with pytest.raises(ValueError, match="scalar reward"):
    py_metrics.AverageReturnMetric()(_traj(F, M, [1.0, 2.0]))
  with pytest.raises(TypeError, match="takes a Trajectory"):
    py_metrics.EnvironmentSteps()((1, 2, 3))
