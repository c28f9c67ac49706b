"""ReverbAddTrajectoryObserver with timeout_s: bounded calls that are safe to make again."""

import socket
import time

import numpy as np
import pytest
import reverb

from rlrun.replay_buffers.reverb_utils import (ReplayServer, ReverbAddTrajectoryObserver,
                                               WriteTimeout, make_table, sample_to_insert_ratio)
from rlrun.specs import array_spec
from rlrun.trajectories import StepType, Trajectory

# observation = [episode id, step index within the episode]
DATA_SPEC = Trajectory(
    step_type=array_spec.ArraySpec((), np.int32, "step_type"),
    observation=array_spec.ArraySpec((2,), np.float32, "observation"),
    action=array_spec.ArraySpec((), np.int64, "action"),
    policy_info=(),
    next_step_type=array_spec.ArraySpec((), np.int32, "step_type"),
    reward=array_spec.ArraySpec((), np.float32, "reward"),
    discount=array_spec.ArraySpec((), np.float32, "discount"))
EPISODE_LENGTHS = (3, 4, 2)


def trajectories():
  """PyDriver's trajectories of EPISODE_LENGTHS episodes, boundaries included."""
  out = []
  for episode, length in enumerate(EPISODE_LENGTHS):
    types = [StepType.FIRST] + [StepType.MID] * (length - 2) + [StepType.LAST]
    for t in range(length):
      next_type = types[t + 1] if t + 1 < length else StepType.FIRST
      out.append(Trajectory(
          step_type=np.asarray(types[t], np.int32), observation=np.array([episode, t], np.float32),
          action=np.int64(0), policy_info=(), next_step_type=np.asarray(next_type, np.int32),
          reward=np.float32(1.0), discount=np.float32(1.0)))
  return out


def expected_items():
  """The (episode, step) pairs of each 2-step item, in insertion order."""
  return [[(e, t), (e, t + 1)] for e, n in enumerate(EPISODE_LENGTHS) for t in range(n - 1)]


def test_rate_limited_calls_time_out_and_calling_again_writes_each_step_once():
  # A queue-like table: each item is sampled once, in order; the ratio limiter lets
  # inserts run at most about one item ahead of sampling.
  table = make_table("replay", DATA_SPEC, 2, packed=False, sampler="fifo", max_times_sampled=1,
                     rate_limiter=sample_to_insert_ratio(samples_per_insert=1.0,
                                                         error_buffer=1.0))
  server = ReplayServer([table])
  client = server.client
  sampled = []

  def sample_one():
    assert table.can_sample(1), "the limiter blocks inserts and samples at once"
    data = next(client.sample("replay", emit_timesteps=False, unpack_as_table_signature=True)).data
    sampled.append([tuple(int(v) for v in step) for step in np.asarray(data.observation)])

  def until_written(call):
    timeouts = 0
    while True:
      try:
        return call(), timeouts
      except WriteTimeout as e:
        assert "'replay'" in str(e) and "rate limiter" in str(e)
        timeouts += 1
        sample_one()

  try:
    observer = ReverbAddTrajectoryObserver(client, "replay", 2, max_in_flight_items=2,
                                           timeout_s=0.2)
    timeouts = sum(until_written(lambda t=traj: observer(t))[1] for traj in trajectories())
    timeouts += until_written(observer.flush)[1]
    while table.can_sample(1):
      sample_one()
    assert timeouts > 0
    assert sampled == expected_items()
    observer.close()
  finally:
    server.stop()


def test_a_stopped_server_makes_flush_time_out_naming_table_and_address():
  server = ReplayServer([make_table("replay", DATA_SPEC, 2, packed=False)])
  observer = ReverbAddTrajectoryObserver(server.client, "replay", 2, timeout_s=0.3)
  first, second = trajectories()[:2]
  observer(first)
  server.stop()
  observer(second)  # creates the item after the server is gone: it cannot be confirmed
  start = time.monotonic()
  with pytest.raises(WriteTimeout, match=f"'replay' at {server.address} .* within 0.3 s"):
    observer.flush()
  assert time.monotonic() - start < 30  # a hang guard, not a speed claim
  observer.close()


def test_an_unreachable_server_fails_the_constructor_within_the_timeout():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    address = f"localhost:{s.getsockname()[1]}"  # nothing listens once closed
  start = time.monotonic()
  with pytest.raises(WriteTimeout, match=f"reaching Reverb table 'replay' at {address}"):
    ReverbAddTrajectoryObserver(reverb.Client(address), "replay", 2, timeout_s=1)
  assert time.monotonic() - start < 30  # a hang guard, not a speed claim


def test_without_timeout_an_episode_end_is_written_by_the_next_call_or_flush():
  server = ReplayServer([make_table("replay", DATA_SPEC, 2, packed=False)])
  try:
    observer = ReverbAddTrajectoryObserver(server.client, "replay", 2)
    for traj in trajectories():
      observer(traj)
    observer.flush()
    assert server.client.server_info()["replay"].current_size == len(expected_items())
    observer.reset()
    observer.close()
  finally:
    server.stop()


def test_stamped_items_carry_the_train_step_they_were_written_at():
  """The staleness the learner reports reads these stamps (Learner stamped_items)."""
  table = make_table("replay", DATA_SPEC, 2, packed=False, sampler="fifo", max_times_sampled=1)
  server = ReplayServer([table])
  try:
    observer = ReverbAddTrajectoryObserver(server.client, "replay", 2)
    steps = trajectories()
    observer.stamp(0)
    for trajectory in steps[:3]:  # episode 0: items (0, 0-1) and (0, 1-2)
      observer(trajectory)
    observer.stamp(40)
    for trajectory in steps[3:]:
      observer(trajectory)
    observer.flush()
    stamps = [float(next(server.client.sample("replay", emit_timesteps=False)).info.priority)
              for _ in expected_items()]
    assert stamps == [0.0, 0.0, 40.0, 40.0, 40.0, 40.0]
  finally:
    server.stop()
