"""LocalReplay: the writer's items, FIFO removal, seeded sampling, and an exact save/load."""

import numpy as np
import pytest

from rlrun.replay_buffers import local_replay, reverb_checkpoints
from rlrun.replay_buffers.local_replay import LocalReplay

from test_reverb_replay import DATA_SPEC, EPISODE_LENGTHS, EXPECTED_ITEMS, _episode_trajectories


def _write(replay, episodes=EPISODE_LENGTHS, first_episode=0):
  for episode, length in enumerate(episodes, first_episode):
    for trajectory in _episode_trajectories(episode, length):
      replay(trajectory)


def test_items_are_consecutive_steps_of_one_episode():
  replay = LocalReplay(DATA_SPEC, 2, capacity=100, seed=0)
  _write(replay)
  assert replay.num_frames() == EXPECTED_ITEMS
  batch = replay.sample(batch_size=50, count=3)
  observation = batch.observation  # [count, batch, T, 2]: (episode, step)
  assert observation.shape == (3, 50, 2, 2)
  np.testing.assert_array_equal(observation[..., 0, 0], observation[..., 1, 0])  # one episode
  np.testing.assert_array_equal(observation[..., 1, 1], observation[..., 0, 1] + 1)  # in order


def test_a_stride_skips_windows():
  replay = LocalReplay(DATA_SPEC, 2, capacity=100, seed=0, stride=2)
  _write(replay, episodes=(5,))  # 5 trajectories: windows start at steps 0, 2 (and 4 spans none)
  assert replay.num_frames() == 2


def test_the_oldest_items_leave_first():
  replay = LocalReplay(DATA_SPEC, 2, capacity=3, seed=0)
  _write(replay)
  assert replay.num_frames() == 3
  kept = {tuple(o) for o in replay.sample(batch_size=200).observation[0, :, 0]}
  # Items start at (episode, step) 00 01 10 11 12 20; the last three remain.
  assert kept == {(1.0, 1.0), (1.0, 2.0), (2.0, 0.0)}


def test_sampling_is_fixed_by_the_seed():
  draws = []
  for seed in (7, 7, 8):
    replay = LocalReplay(DATA_SPEC, 2, capacity=100, seed=seed)
    _write(replay)
    draws.append(replay.sample(batch_size=16, count=2).observation)
  np.testing.assert_array_equal(draws[0], draws[1])
  assert not np.array_equal(draws[0], draws[2])


def test_save_and_load_continue_exactly_mid_episode(tmp_path):
  original = LocalReplay(DATA_SPEC, 2, capacity=5, seed=3)
  _write(original)
  original(_episode_trajectories(9, 4)[0])  # a partial episode is in the window
  original.sample(batch_size=4)  # the generator has moved
  original.save(str(tmp_path / "saved"))
  restored = LocalReplay(DATA_SPEC, 2, capacity=5, seed=99)
  restored.load(str(tmp_path / "saved"))
  for replay in (original, restored):
    for trajectory in _episode_trajectories(9, 4)[1:]:
      replay(trajectory)
  assert restored.num_frames() == original.num_frames() == 5
  np.testing.assert_array_equal(original.sample(batch_size=32, count=2).observation,
                                restored.sample(batch_size=32, count=2).observation)


def test_a_damaged_save_is_caught_and_archives_keep_their_files(tmp_path):
  replay = LocalReplay(DATA_SPEC, 2, capacity=100, seed=0)
  _write(replay)
  replay.save(str(tmp_path / "live"))
  (tmp_path / "live" / "collector.pkl").write_bytes(b"state")
  assert reverb_checkpoints.archive(str(tmp_path / "live"), str(tmp_path / "kept")) == {
      "items": EXPECTED_ITEMS}
  assert (tmp_path / "kept" / "collector.pkl").read_bytes() == b"state"
  path = tmp_path / "kept" / local_replay.FILE
  path.write_bytes(path.read_bytes()[:100])
  with pytest.raises(reverb_checkpoints.ReplayCheckpointError, match="replay checkpoint kept"):
    reverb_checkpoints.verify(str(tmp_path / "kept"))


def _held_items(replay, draws=4000):
  """The distinct items a replay samples, as tuples of (episode, step) pairs."""
  observation = replay.sample(batch_size=draws).observation[0]
  return {tuple(map(tuple, item)) for item in observation.tolist()}


def _item(episode, first, length):
  return tuple((float(episode), float(first + t)) for t in range(length))


STEP_BYTES = 4 + 8 + 8 + 4 + 4 + 4  # DATA_SPEC's fields


def test_long_episodes_store_each_step_once():
  replay = LocalReplay(DATA_SPEC, 5, capacity=100, seed=0)
  _write(replay, episodes=(1000,))  # 996 items of 5 steps
  # The ring of steps never grew past capacity * stride + T steps: one step per item.
  assert replay.bytes_at_capacity == (100 + 5) * STEP_BYTES
  assert replay.num_frames() == 100
  assert _held_items(replay) == {_item(0, first, 5) for first in range(896, 996)}


def test_short_episodes_grow_the_ring_and_keep_every_held_item_whole():
  replay = LocalReplay(DATA_SPEC, 4, capacity=10, seed=0)
  _write(replay, episodes=[5] * 30)  # 2 items per episode, 5 distinct steps for 2 items
  assert replay.num_frames() == 10
  assert replay.bytes_at_capacity > (10 + 4) * STEP_BYTES
  assert _held_items(replay) == {_item(e, first, 4) for e in range(25, 30) for first in (0, 1)}


@pytest.mark.parametrize("length, stride", [(3, 2), (2, 3), (4, 4)])
def test_strides_shorter_and_longer_than_items(length, stride):
  replay = LocalReplay(DATA_SPEC, length, capacity=1000, seed=0, stride=stride)
  _write(replay, episodes=(20, 9))
  expected = {_item(e, first, length) for e, n in enumerate((20, 9))
              for first in range(0, n - length + 1, stride)}
  assert replay.num_frames() == len(expected) and _held_items(replay) == expected


def _save_old_format(directory):
  """What rlrun wrote before steps were stored once: every slot's item whole (item_<leaf>)."""
  import json
  import tree
  with np.load(directory / "new" / local_replay.FILE) as data:
    state = json.loads(bytes(data["state"]).decode())
    arrays = {k: data[k] for k in data.files if k.startswith("window_") and k != "window_steps"}
    steps, starts = [data[f"step_{i}"] for i in range(6)], data["starts"]
  rows = (starts[:, None] + np.arange(2)) % state["ring_rows"]  # items of 2 steps
  for i, leaf in enumerate(steps):
    arrays[f"item_{i}"] = leaf[rows]
  assert len(tree.flatten(DATA_SPEC)) == 6
  (directory / "old").mkdir()
  local_replay.write_files(str(directory / "old"), arrays, state)


def test_a_replay_saved_in_the_earlier_format_loads_and_goes_on_the_same(tmp_path):
  original = LocalReplay(DATA_SPEC, 2, capacity=5, seed=3)
  _write(original, episodes=(3, 4, 4, 2))  # 9 items wrapped around: the oldest is slot 4
  original(_episode_trajectories(9, 4)[0])
  original.save(str(tmp_path / "new"))
  _save_old_format(tmp_path)
  assert local_replay.verify(str(tmp_path / "old")) == {"items": 5}
  restored = LocalReplay(DATA_SPEC, 2, capacity=5, seed=99)
  restored.load(str(tmp_path / "old"))
  restored.save(str(tmp_path / "again"))  # and on in today's format
  again = LocalReplay(DATA_SPEC, 2, capacity=5, seed=98)
  again.load(str(tmp_path / "again"))
  for replay in (original, restored, again):
    for trajectory in _episode_trajectories(9, 4)[1:]:
      replay(trajectory)
  expected = original.sample(batch_size=64, count=2).observation
  np.testing.assert_array_equal(restored.sample(batch_size=64, count=2).observation, expected)
  np.testing.assert_array_equal(again.sample(batch_size=64, count=2).observation, expected)


def test_a_full_table_of_long_episodes_grows_only_to_what_its_items_need():
  replay = LocalReplay(DATA_SPEC, 5, capacity=1000, seed=0)
  _write(replay, episodes=[300] * 20)  # 296 items per episode: 4 steps of 300 start none
  needed = 1000 * 300 / 296 + 5
  assert needed * STEP_BYTES < replay.bytes_at_capacity < 1.1 * needed * STEP_BYTES
  assert _held_items(replay, draws=20000) == (
      {_item(19, first, 5) for first in range(296)} | {_item(18, first, 5) for first in range(296)}
      | {_item(17, first, 5) for first in range(296)} | {_item(16, first, 5)
                                                         for first in range(296 - 112, 296)})


def test_a_stride_longer_than_items_keeps_only_the_items_steps():
  replay = LocalReplay(DATA_SPEC, 2, capacity=100, seed=0, stride=10)
  assert replay.bytes_at_capacity == (100 * 2 + 2) * STEP_BYTES


def test_verify_reads_the_steps_and_checks_the_items_fit_them(tmp_path):
  replay = LocalReplay(DATA_SPEC, 2, capacity=100, seed=0)
  _write(replay, episodes=(60, 60))
  replay.save(str(tmp_path / "saved"))
  path = tmp_path / "saved" / local_replay.FILE
  data = bytearray(path.read_bytes())
  offset = data.index(b"step_1.npy") + 200  # inside that array's bytes
  data[offset] ^= 0xFF
  path.write_bytes(bytes(data))
  with pytest.raises(ValueError, match="replay checkpoint saved is unreadable"):
    local_replay.verify(str(tmp_path / "saved"))
