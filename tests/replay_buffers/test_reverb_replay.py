"""Reverb replay: tables, the writing observer, the sampling buffer and checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.replay_buffers.packing import PackedCodec
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
from rlrun.replay_buffers.reverb_utils import (ReplayServer, ReverbAddTrajectoryObserver,
                                               make_table)
from rlrun.specs import array_spec
from rlrun.trajectories import StepType, Trajectory

# observation = [episode id, step index within the episode]
DATA_SPEC = Trajectory(
    step_type=array_spec.ArraySpec((), np.int32, "step_type"),
    observation=array_spec.ArraySpec((2,), np.float32, "observation"),
    action=array_spec.BoundedArraySpec((), np.int64, 0, 1, "action"),
    policy_info=(),
    next_step_type=array_spec.ArraySpec((), np.int32, "step_type"),
    reward=array_spec.ArraySpec((), np.float32, "reward"),
    discount=array_spec.BoundedArraySpec((), np.float32, 0.0, 1.0, "discount"))
EPISODE_LENGTHS = (3, 4, 2)  # time steps per episode
# Each episode of N time steps gives N trajectories (the last is the LAST -> FIRST
# boundary) and N - 1 items of 2 consecutive trajectories.
EXPECTED_ITEMS = sum(n - 1 for n in EPISODE_LENGTHS)  # 6


def _episode_trajectories(episode: int, length: int):
  """What PyDriver records for one episode of `length` time steps, boundary included."""
  types = [StepType.FIRST] + [StepType.MID] * (length - 2) + [StepType.LAST]
  out = []
  for t in range(length):
    next_type = types[t + 1] if t + 1 < length else StepType.FIRST
    out.append(Trajectory(
        step_type=np.asarray(types[t], np.int32),
        observation=np.array([episode, t], np.float32),
        action=np.int64(t % 2),
        policy_info=(),
        next_step_type=np.asarray(next_type, np.int32),
        reward=np.float32(0.0 if next_type == StepType.FIRST else 1.0),
        discount=np.float32(0.0 if next_type == StepType.LAST else 1.0)))
  return out


def _write_episodes(server, table, packed):
  observer = ReverbAddTrajectoryObserver(server.client, table, sequence_length=2,
                                         codec=PackedCodec(DATA_SPEC) if packed else None)
  for episode, length in enumerate(EPISODE_LENGTHS):
    for traj in _episode_trajectories(episode, length):
      observer(traj)
  observer.flush()
  observer.close()


def _tables():
  return [make_table("packed", DATA_SPEC, 2, max_size=100, packed=True),
          make_table("plain", DATA_SPEC, 2, max_size=100, packed=False)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
  srv = ReplayServer(_tables(), checkpoint_dir=str(tmp_path_factory.mktemp("replay_ckpt")))
  _write_episodes(srv, "packed", packed=True)
  _write_episodes(srv, "plain", packed=False)
  yield srv
  srv.stop()


def _sample(buffer, num_batches=5):
  dataset = buffer.as_dataset(sample_batch_size=4, num_steps=2)
  return [traj for traj, _ in dataset.take(num_batches)]


@pytest.mark.parametrize("table", ["packed", "plain"])
def test_num_frames_counts_items_within_episodes(server, table):
  buffer = ReverbReplayBuffer(DATA_SPEC, table, 2, local_server=server)
  assert buffer.num_frames() == EXPECTED_ITEMS
  assert buffer.capacity == 100


def test_packing_is_detected_from_the_table_signature(server):
  assert ReverbReplayBuffer(DATA_SPEC, "packed", 2, local_server=server).codec is not None
  assert ReverbReplayBuffer(DATA_SPEC, "plain", 2, local_server=server).codec is None
  assert ReverbReplayBuffer(DATA_SPEC, "packed", 2, server_address=server.address,
                            packed=True).codec is not None


@pytest.mark.parametrize("table", ["packed", "plain"])
def test_sampled_items_stay_within_one_episode(server, table):
  buffer = ReverbReplayBuffer(DATA_SPEC, table, 2, local_server=server)
  seen = set()
  for traj in _sample(buffer):
    assert traj.observation.shape == (4, 2, 2) and traj.observation.dtype == tf.float32
    assert traj.action.shape == (4, 2) and traj.action.dtype == tf.int64
    assert traj.step_type.shape == (4, 2) and traj.step_type.dtype == tf.int32
    assert traj.reward.shape == (4, 2) and traj.discount.shape == (4, 2)
    obs = traj.observation.numpy()
    np.testing.assert_array_equal(obs[:, 0, 0], obs[:, 1, 0])  # same episode
    np.testing.assert_array_equal(obs[:, 1, 1], obs[:, 0, 1] + 1)  # consecutive steps
    # the data is what was written: step t's action is t % 2 and types are consistent
    np.testing.assert_array_equal(traj.action.numpy(), obs[..., 1].astype(np.int64) % 2)
    np.testing.assert_array_equal(traj.next_step_type.numpy()[:, 0], traj.step_type.numpy()[:, 1])
    for episode, t in obs[:, 0]:
      seen.add((int(episode), int(t)))
  valid_starts = {(e, t) for e, n in enumerate(EPISODE_LENGTHS) for t in range(n - 1)}
  assert seen <= valid_starts and len(seen) >= 3


def test_packed_and_plain_tables_give_the_same_kind_of_data(server):
  packed = _sample(ReverbReplayBuffer(DATA_SPEC, "packed", 2, local_server=server), 1)[0]
  plain = _sample(ReverbReplayBuffer(DATA_SPEC, "plain", 2, local_server=server), 1)[0]
  tf.nest.assert_same_structure(packed, plain)
  for a, b in zip(tf.nest.flatten(packed), tf.nest.flatten(plain)):
    assert a.dtype == b.dtype and a.shape == b.shape


def test_unbatched_dataset(server):
  buffer = ReverbReplayBuffer(DATA_SPEC, "packed", 2, local_server=server)
  traj, info = next(iter(buffer.as_dataset()))
  assert traj.observation.shape == (2, 2) and traj.step_type.shape == (2,)
  assert info.key.dtype == tf.uint64


def test_num_steps_mismatch_raises(server):
  buffer = ReverbReplayBuffer(DATA_SPEC, "packed", 2, local_server=server)
  with pytest.raises(ValueError, match="num_steps=3 but table 'packed' holds sequences of 2"):
    buffer.as_dataset(sample_batch_size=4, num_steps=3)


def test_buffer_needs_a_server():
  with pytest.raises(ValueError, match="server_address or local_server"):
    ReverbReplayBuffer(DATA_SPEC, "packed", 2)


def test_checkpoint_restores_items(tmp_path):
  ckpt_dir = str(tmp_path / "replay")
  first = ReplayServer(_tables(), checkpoint_dir=ckpt_dir)
  try:
    _write_episodes(first, "packed", packed=True)
    first.checkpoint()
    first.checkpoint()  # Reverb keeps only its newest checkpoint on disk
    assert len([e for e in tmp_path.joinpath("replay").iterdir() if e.is_dir()]) == 1
  finally:
    first.stop()
  second = ReplayServer(_tables(), checkpoint_dir=ckpt_dir)
  try:
    assert ReverbReplayBuffer(DATA_SPEC, "packed", 2, local_server=second).num_frames() == \
        EXPECTED_ITEMS
    assert ReverbReplayBuffer(DATA_SPEC, "plain", 2, local_server=second).num_frames() == 0
    traj = _sample(ReverbReplayBuffer(DATA_SPEC, "packed", 2, local_server=second), 1)[0]
    obs = traj.observation.numpy()
    np.testing.assert_array_equal(obs[:, 0, 0], obs[:, 1, 0])
  finally:
    second.stop()


def test_clear():
  srv = ReplayServer(_tables())
  try:
    _write_episodes(srv, "plain", packed=False)
    buffer = ReverbReplayBuffer(DATA_SPEC, "plain", 2, local_server=srv)
    assert buffer.num_frames() == EXPECTED_ITEMS
    buffer.clear()
    assert buffer.num_frames() == 0
  finally:
    srv.stop()


def test_make_table_validation():
  with pytest.raises(ValueError, match="min_size_to_sample=11 exceeds max_size=10"):
    make_table("t", DATA_SPEC, 2, max_size=10, min_size_to_sample=11)
  with pytest.raises(ValueError, match="unknown sampler 'random'.*prioritized"):
    make_table("t", DATA_SPEC, 2, sampler="random")
  with pytest.raises(ValueError, match="unknown remover 'oldest'"):
    make_table("t", DATA_SPEC, 2, remover="oldest")
  with pytest.raises(ValueError, match="max_size must be >= 1"):
    make_table("t", DATA_SPEC, 2, max_size=0)
  assert make_table("t", DATA_SPEC, 2, sampler="prioritized").name == "t"


def test_observer_validation(server):
  with pytest.raises(ValueError, match="sequence_length \\(0\\)"):
    ReverbAddTrajectoryObserver(server.client, "packed", sequence_length=0)
