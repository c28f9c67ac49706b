"""Archived replay checkpoints: verified before loading, and loaded exactly."""

import os

import pytest

from rlrun.replay_buffers import reverb_checkpoints
from rlrun.replay_buffers.reverb_checkpoints import ReplayCheckpointError
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
from rlrun.replay_buffers.reverb_utils import ReplayServer

from test_reverb_replay import DATA_SPEC, EXPECTED_ITEMS, _tables, _write_episodes


@pytest.fixture
def archived(tmp_path):
  """Two archives: `one` after one write of the episodes, `two` after a second write."""
  live = str(tmp_path / "replay")
  server = ReplayServer(_tables(), checkpoint_dir=live)
  try:
    _write_episodes(server, "packed", packed=True)
    one = reverb_checkpoints.archive(server.checkpoint(), str(tmp_path / "one"))
    _write_episodes(server, "packed", packed=True)
    two = reverb_checkpoints.archive(server.checkpoint(), str(tmp_path / "two"))
  finally:
    server.stop()
  assert one == {"packed": EXPECTED_ITEMS, "plain": 0}
  assert two == {"packed": 2 * EXPECTED_ITEMS, "plain": 0}
  return tmp_path


def _items(server) -> int:
  return ReverbReplayBuffer(DATA_SPEC, "packed", 2, local_server=server).num_frames()


def test_a_server_loads_the_archive_asked_for_not_the_newest(archived):
  server = ReplayServer(_tables(), checkpoint_dir=str(archived / "replay"),
                        load_from=str(archived / "one"))
  try:
    assert _items(server) == EXPECTED_ITEMS
  finally:
    server.stop()
  assert os.listdir(archived / "replay") == []  # the live checkpoint was cleared first


def test_fresh_starts_empty_even_with_a_live_checkpoint(archived):
  server = ReplayServer(_tables(), checkpoint_dir=str(archived / "replay"))
  try:
    assert _items(server) == 2 * EXPECTED_ITEMS  # the live one, without fresh
    server.checkpoint()
  finally:
    server.stop()
  server = ReplayServer(_tables(), checkpoint_dir=str(archived / "replay"), fresh=True)
  try:
    assert _items(server) == 0
  finally:
    server.stop()


@pytest.mark.parametrize("damage", ["truncate chunks", "empty chunks", "delete items",
                                    "flip a byte of tables", "delete DONE", "wrong manifest"])
def test_every_damage_is_caught_before_loading(archived, damage):
  target = archived / "two"
  what, name = damage.split(" ", 1)[0], damage.rsplit(" ", 1)[-1]
  path = target / (name if name in ("DONE",) else f"{name}.tfrecord")
  if what == "truncate":
    os.truncate(path, os.path.getsize(path) // 2)
  elif what == "empty":
    os.truncate(path, 0)
  elif what == "delete":
    os.remove(path)
  elif what == "flip":
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
  else:
    (target / "manifest.json").write_text('{"items": {"packed": 1}}')
  with pytest.raises(ReplayCheckpointError, match="replay checkpoint two"):
    reverb_checkpoints.verify(str(target))
  assert reverb_checkpoints.verify(str(archived / "one"))["packed"] == EXPECTED_ITEMS
