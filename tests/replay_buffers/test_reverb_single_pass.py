"""ReverbReplayBuffer's single deterministic pass over a FIFO, sample-once table."""

import numpy as np
import pytest

from rlrun.replay_buffers import reverb_utils
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
from rlrun.specs import array_spec

SPEC = {"index": array_spec.ArraySpec((), np.int64, "index"),
        "value": array_spec.ArraySpec((2,), np.float32, "value")}


def write(client, table, count):
  with client.trajectory_writer(num_keep_alive_refs=1) as writer:
    for i in range(count):
      writer.append({"index": np.int64(i), "value": np.full(2, i, np.float32)})
      writer.create_item(table, 1.0, {"index": writer.history["index"][-1:],
                                      "value": writer.history["value"][-1:]})


def test_fifo_once_table_is_read_once_in_order():
  table = reverb_utils.make_table("once", SPEC, 1, sampler="fifo", max_times_sampled=1,
                                  packed=False)
  server = reverb_utils.ReplayServer([table])
  try:
    buffer = ReverbReplayBuffer(SPEC, "once", 1, local_server=server)
    write(buffer.py_client, "once", 10)
    batches = [item["index"].numpy()[:, 0] for item, _ in
               buffer.as_dataset(sample_batch_size=4, single_deterministic_pass=True)]
    assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert buffer.num_frames() == 0
  finally:
    server.stop()


def test_single_pass_on_a_uniform_table_says_how_to_fix_it():
  table = reverb_utils.make_table("uniform", SPEC, 1)
  server = reverb_utils.ReplayServer([table])
  try:
    buffer = ReverbReplayBuffer(SPEC, "uniform", 1, local_server=server)
    with pytest.raises(ValueError, match="sampler='fifo', max_times_sampled=1"):
      buffer.as_dataset(single_deterministic_pass=True)
  finally:
    server.stop()
