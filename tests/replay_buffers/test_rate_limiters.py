"""Rate limits of replay.make_table: impossible ones are rejected, valid ones work on a server."""

import gin
import numpy as np
import pytest
import reverb

from rlrun.errors import UserError
from rlrun.replay_buffers import reverb_utils
from rlrun.replay_buffers.reverb_utils import TableConfigError, make_table, sample_to_insert_ratio
from rlrun.specs import array_spec

SPEC = array_spec.ArraySpec((), np.float32, "x")


def table(**kwargs):
  return make_table("replay", SPEC, 1, packed=False, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_size=10, min_size_to_sample=11), "min_size_to_sample=11 exceeds max_size=10"),
    (dict(max_size=10, rate_limiter=sample_to_insert_ratio(2.0, 10.0, min_size_to_sample=20)),
     "min_size_to_sample=20 exceeds max_size=10"),
    (dict(max_size=10, min_size_to_sample=20, rate_limiter=sample_to_insert_ratio(2.0, 10.0)),
     "min_size_to_sample=20 exceeds max_size=10"),
    (dict(max_size=10, rate_limiter=reverb.rate_limiters.MinSize(11)),
     "min_size_to_sample=11 exceeds max_size=10"),
    (dict(min_size_to_sample=0), "min_size_to_sample must be >= 1, got 0"),
    (dict(rate_limiter=reverb_utils.SampleToInsertRatio(0.0, 10.0)),
     "samples_per_insert must be > 0, got 0.0"),
    (dict(rate_limiter=reverb_utils.SampleToInsertRatio(4.0, 3.0)),
     r"error_buffer=3 is below max\(1, samples_per_insert\)=4"),
    (dict(rate_limiter=reverb_utils.SampleToInsertRatio(0.5, 0.5)),
     r"error_buffer=0.5 is below max\(1, samples_per_insert\)=1"),
    (dict(max_times_sampled=2, rate_limiter=sample_to_insert_ratio(4.0, 100.0)),
     "samples_per_insert=4 exceeds max_times_sampled=2"),
    (dict(max_times_sampled=1, rate_limiter=reverb.rate_limiters.SampleToInsertRatio(2, 1, 4.0)),
     "samples_per_insert=2 exceeds max_times_sampled=1"),
])
def test_a_rate_limit_that_could_never_be_satisfied_is_rejected(kwargs, message):
  with pytest.raises(TableConfigError, match=message) as error:
    table(**kwargs)
  assert isinstance(error.value, ValueError) and isinstance(error.value, UserError)
  # gin appends a line naming the configurable; the CLI prints the first line.
  assert str(error.value).splitlines()[0].startswith("table 'replay': ")


def test_sample_to_insert_ratio_checks_what_it_can_at_once():
  with pytest.raises(TableConfigError, match="samples_per_insert must be > 0"):
    sample_to_insert_ratio(-1.0, 10.0)
  with pytest.raises(TableConfigError, match="min_size_to_sample=20 exceeds max_size=10"):
    sample_to_insert_ratio(1.0, 10.0, min_size_to_sample=20, max_size=10)


def test_a_min_size_above_capacity_really_never_samples():
  """Why make_table rejects it: built by hand, the table fills and sampling still waits."""
  raw = reverb.Table("raw", sampler=reverb.selectors.Uniform(), remover=reverb.selectors.Fifo(),
                     max_size=3, rate_limiter=reverb.rate_limiters.MinSize(5))
  server = reverb.Server([raw])
  try:
    client = server.localhost_client()
    with client.trajectory_writer(num_keep_alive_refs=1) as writer:
      for i in range(6):
        writer.append(np.float32(i))
        writer.create_item("raw", 1.0, writer.history[-1])
    assert raw.info.current_size == 3 and not raw.can_sample(1)
  finally:
    server.stop()


def test_a_ratio_table_evicts_past_capacity_and_blocks_inserts_until_samples():
  # min 2, 2 samples per insert, error buffer 4: 4 inserts run ahead of any sampling,
  # more than the 3 items the table holds; the remover makes room, nothing deadlocks.
  limit = sample_to_insert_ratio(samples_per_insert=2.0, error_buffer=4.0)
  server = reverb_utils.ReplayServer([table(max_size=3, min_size_to_sample=2,
                                            rate_limiter=limit)])
  try:
    client = server.client
    info = client.server_info(timeout=1)["replay"]
    assert info.rate_limiter_info.samples_per_insert == 2.0
    assert info.rate_limiter_info.min_size_to_sample == 2
    writer = client.trajectory_writer(num_keep_alive_refs=1)

    def insert(value):
      writer.append(np.float32(value))
      writer.create_item("replay", 1.0, writer.history[-1:])  # a 1-step sequence
      writer.flush(timeout_ms=300)

    for i in range(4):
      insert(i)
    assert client.server_info(timeout=1)["replay"].current_size == 3
    with pytest.raises(reverb.errors.DeadlineExceededError):
      insert(4)  # 5 * 2 samples owed > min 2 * 2 + error buffer 4
    samples = [float(next(client.sample("replay", emit_timesteps=False)).data[0])
               for _ in range(2)]
    assert set(samples) <= {1.0, 2.0, 3.0}
    writer.flush(timeout_ms=1000)  # two samples made room for the fifth insert
    assert client.server_info(timeout=1)["replay"].rate_limiter_info.insert_stats.completed == 5
    writer.close()
  finally:
    server.stop()


def test_gin_binds_a_sample_to_insert_ratio_into_make_table():
  gin.clear_config()
  try:
    gin.parse_config("""
        replay.make_table.rate_limiter = @replay.sample_to_insert_ratio()
        replay.make_table.min_size_to_sample = 50
        replay.sample_to_insert_ratio.samples_per_insert = 8.0
        replay.sample_to_insert_ratio.error_buffer = 800.0
    """)
    info = make_table("replay", SPEC, 1, packed=False).info.rate_limiter_info
    assert info.samples_per_insert == 8.0 and info.min_size_to_sample == 50
    assert (info.min_diff, info.max_diff) == (400 - 800, 400 + 800)
  finally:
    gin.clear_config()
