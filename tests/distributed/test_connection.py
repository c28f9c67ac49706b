"""connect, retry and Watchdog against real local Reverb servers."""

import socket
import threading
import time

import numpy as np
import pytest
import reverb
import tensorflow as tf

from rlrun.distributed import connection
from rlrun.distributed.ports import free_port
from rlrun.distributed.variable_container import VariablesNotReady
from rlrun.errors import UserError
from rlrun.replay_buffers.reverb_utils import WriteTimeout


def table(name="t", rate_limiter=None):
  return reverb.Table(name, sampler=reverb.selectors.Fifo(), remover=reverb.selectors.Fifo(),
                      max_size=10, rate_limiter=rate_limiter or reverb.rate_limiters.MinSize(1),
                      signature=tf.TensorSpec([], tf.float32))


@pytest.fixture
def server():
  srv = reverb.Server([table()])
  yield srv
  srv.stop()


def test_parse_address_splits_host_and_port():
  assert connection.parse_address("localhost:8000") == ("localhost", 8000)
  assert connection.parse_address(" 10.0.0.2:1 ") == ("10.0.0.2", 1)
  assert connection.parse_address("[::1]:65535") == ("[::1]", 65535)


@pytest.mark.parametrize("address", ["localhost", "localhost:", ":8000", "host:http", "host:0",
                                     "host:70000", ""])
def test_a_bad_address_says_what_is_expected(address):
  with pytest.raises(connection.AddressError, match="expected HOST:PORT") as error:
    connection.connect(address)
  assert isinstance(error.value, ValueError) and isinstance(error.value, UserError)
  assert repr(address) in str(error.value) and "\n" not in str(error.value)


def test_connect_returns_a_client_of_an_answering_server(server):
  client = connection.connect(f"localhost:{server.port}", timeout_s=2, tables=["t"])
  assert "t" in client.server_info(timeout=1)
  with pytest.raises(UserError, match=r"has no table 'other' \(it has t\)"):
    connection.connect(f"localhost:{server.port}", timeout_s=2, tables=["other"])


def test_an_unreachable_address_fails_within_the_timeout_naming_it():
  address = f"localhost:{free_port()}"  # nothing listens there
  start = time.monotonic()
  with pytest.raises(connection.ServerUnreachable) as error:
    connection.connect(address, timeout_s=1)
  assert time.monotonic() - start < 30  # a hang guard, not a speed claim
  message = str(error.value)
  assert address in message and "rlrun replay-server" in message and "\n" not in message
  assert isinstance(error.value, UserError)


def test_a_listener_that_is_not_reverb_fails_within_the_timeout():
  with socket.socket() as listener:  # accepts connections, never speaks gRPC
    listener.bind(("localhost", 0))
    listener.listen()
    address = f"localhost:{listener.getsockname()[1]}"
    start = time.monotonic()
    with pytest.raises(connection.ServerUnreachable, match=address):
      connection.connect(address, timeout_s=1)
    assert time.monotonic() - start < 30  # a hang guard, not a speed claim


@pytest.mark.parametrize("error, unavailable", [
    (reverb.errors.DeadlineExceededError("ServerInfo call did not complete"), True),
    (RuntimeError("Socket closed"), True),
    (RuntimeError("connections to all backends failing"), True),
    (tf.errors.UnavailableError(None, None, "failed to connect to all addresses"), True),
    (WriteTimeout("slow"), True),
    (VariablesNotReady("empty"), True),
    (connection.ServerUnreachable("gone"), True),
    (connection.ServerLost("gone for good"), False),
    (RuntimeError("Unable to create item in table 't': wrong signature"), False),
    (ValueError("bad shape"), False),
])
def test_is_unavailable_tells_a_silent_server_from_a_real_failure(error, unavailable):
  assert connection.is_unavailable(error) is unavailable


def test_retry_rides_out_slow_calls_while_the_server_answers(server):
  calls = []

  def slow_twice():
    calls.append(1)
    if len(calls) < 3:
      raise reverb.errors.DeadlineExceededError("Flush call did not complete")
    return "done"

  # The server answers, so even a zero grace period is no reason to give up.
  assert connection.retry(slow_twice, 0.0, "writing", f"localhost:{server.port}",
                          sleep_s=0.01) == "done"
  assert len(calls) == 3


def test_retry_stops_waiting_when_told(server):
  calls = []

  def always_slow():
    calls.append(1)
    raise reverb.errors.DeadlineExceededError("Flush call did not complete")

  with pytest.raises(connection.Cancelled, match="writing: stopped waiting"):
    connection.retry(always_slow, 60.0, "writing", f"localhost:{server.port}", sleep_s=0.01,
                     should_stop=lambda: len(calls) >= 4)
  assert len(calls) == 4


def test_retry_raises_other_errors_at_once(server):
  calls = []

  def broken():
    calls.append(1)
    raise ValueError("wrong shape")

  with pytest.raises(ValueError, match="wrong shape"):
    connection.retry(broken, 10.0, "writing", f"localhost:{server.port}")
  assert len(calls) == 1


def test_retry_gives_up_with_server_lost_after_the_grace_period():
  srv = reverb.Server([table()])
  client = connection.connect(f"localhost:{srv.port}", timeout_s=1)
  connection.server_info(client, 1)
  srv.stop()
  start = time.monotonic()
  with pytest.raises(connection.ServerLost) as error:
    connection.retry(lambda: connection.server_info(client, 0.3), 0.5, "reading the table size",
                     client, sleep_s=0.1, probe_timeout_s=1)
  elapsed = time.monotonic() - start
  assert 0.5 <= elapsed < 30  # a hang guard, not a speed claim
  message = str(error.value)
  assert f"localhost:{srv.port}" in message and "while reading the table size" in message
  assert "\n" not in message and isinstance(error.value, UserError)
  assert not connection.is_unavailable(error.value)


def test_a_rate_limited_insert_waits_past_the_grace_period_until_the_learner_samples():
  # One insert beyond min size blocks until a sample: SampleToInsertRatio(1, 1, 1).
  limiter = reverb.rate_limiters.SampleToInsertRatio(samples_per_insert=1.0,
                                                     min_size_to_sample=1, error_buffer=1.0)
  srv = reverb.Server([table(rate_limiter=limiter)])
  try:
    client = connection.connect(f"localhost:{srv.port}", timeout_s=1)
    writer = client.trajectory_writer(num_keep_alive_refs=1)
    for i in range(3):
      writer.append(np.float32(i))
      writer.create_item("t", 1.0, writer.history[-1])
    with pytest.raises(reverb.errors.DeadlineExceededError):
      writer.flush(timeout_ms=200)

    def learner():
      time.sleep(1.0)
      for _ in range(2):
        next(client.sample("t", emit_timesteps=False))

    sampler = threading.Thread(target=learner)
    sampler.start()
    start = time.monotonic()
    connection.retry(lambda: writer.flush(timeout_ms=200), 0.3, "writing", client, sleep_s=0.05)
    assert time.monotonic() - start > 0.5  # waited longer than the grace period
    sampler.join()
    assert client.server_info(timeout=1)["t"].current_size == 3
    writer.close()
  finally:
    srv.stop()


def test_watchdog_calls_on_lost_once_the_server_is_silent_for_the_grace_period():
  srv = reverb.Server([table()])
  lost = []
  done = threading.Event()
  watchdog = connection.Watchdog(f"localhost:{srv.port}", grace_s=0.5, what="training",
                                 interval_s=0.1, probe_timeout_s=1,
                                 on_lost=lambda e: (lost.append(e), done.set()))
  with watchdog:
    time.sleep(0.4)
    assert not lost  # the server answers
    srv.stop()
    assert done.wait(3)
  assert isinstance(lost[0], connection.ServerLost)
  assert "while training" in str(lost[0]) and f"localhost:{srv.port}" in str(lost[0])


class _FailingClient:
  """A client whose server_info raises `error` (what a shutting-down server can cause)."""

  server_address = "localhost:1"

  def __init__(self, error):
    self.error = error

  def server_info(self, timeout=None):
    raise self.error


def test_a_probe_cancelled_by_the_server_shutting_down_is_no_answer():
  assert not connection.answers(_FailingClient(RuntimeError("Cancelled")), timeout_s=1)
  with pytest.raises(ValueError, match="other"):  # anything else is a real failure
    connection.answers(_FailingClient(ValueError("other")), timeout_s=1)


def test_a_probe_failing_in_an_unforeseen_way_does_not_end_the_watchdog():
  """The thread must report the loss, not die: a learner stuck on a dataset would hang."""
  lost, done = [], threading.Event()
  watchdog = connection.Watchdog(_FailingClient(ValueError("surprise")), grace_s=0.3,
                                 what="training", interval_s=0.1, probe_timeout_s=1,
                                 on_lost=lambda e: (lost.append(e), done.set()))
  with watchdog:
    assert done.wait(30)  # hang guard, generous
  assert isinstance(lost[0], connection.ServerLost) and "localhost:1" in str(lost[0])
