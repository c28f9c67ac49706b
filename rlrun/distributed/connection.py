"""Reaching a Reverb server with deadlines, and riding out one that is briefly away.

Reverb calls without a deadline wait forever for a server that is gone (the
client keeps reconnecting), so every call here has one. Reverb has no
authentication and its server listens on every interface.
"""

import logging
import math
import os
import sys
import threading
import time
from typing import Callable, Dict, Optional, Sequence, Tuple, TypeVar, Union

import reverb
import tensorflow as tf

from rlrun.errors import UserError

T = TypeVar("T")

# Exit code of a process whose Watchdog found the server gone.
EXIT_SERVER_LOST = 3
# retry() logs a "still waiting" line this often while the server answers.
_WAITING_NOTE_S = 60.0

# Lower-cased fragments of the errors Reverb and gRPC raise for a server that does
# not answer: gRPC's UNAVAILABLE / DEADLINE_EXCEEDED statuses, Reverb's own
# timeouts ("Timeout exceeded ..."), and a stopped server's cancelled rate limiter.
_UNAVAILABLE_MARKERS = (
    "unavailable", "deadline exceeded", "deadline_exceeded", "timeout exceeded",
    "socket closed", "connection refused", "failed to connect", "connection reset",
    "connections to all backends failing", "broken pipe", "dns resolution failed",
    "rate limiter has been cancelled")


class AddressError(UserError, ValueError):
  """A Reverb address that is not HOST:PORT."""


class ServerUnreachable(UserError):
  """No Reverb server answered in time; retry() keeps trying after these."""


class ServerLost(UserError):
  """The Reverb server did not answer for longer than the grace period."""


class Cancelled(Exception):
  """retry() gave up waiting because its `should_stop` said so."""


def parse_address(address: str) -> Tuple[str, int]:
  """(host, port) of 'HOST:PORT' ('[::1]:PORT' for IPv6).

  Raises:
    AddressError: with one line naming the address and the expected form.
  """
  host, sep, port = str(address).strip().rpartition(":")
  if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise AddressError(f"bad Reverb address {address!r}: expected HOST:PORT with a port in "
                       "1-65535, e.g. localhost:8000 (fix --replay)")
  return host, int(port)


def _seconds(timeout_s: float) -> int:
  """Reverb's server_info takes whole seconds, and 0 means no deadline."""
  return max(1, math.ceil(timeout_s))


def first_line(error: BaseException) -> str:
  """The first non-empty line of an error's message (its type name if there is none)."""
  lines = [l.strip() for l in str(error).splitlines() if l.strip()]
  return lines[0] if lines else type(error).__name__


def _unreachable(address: str, timeout_s: float) -> str:
  return (f"no Reverb server answered at {address} within {_seconds(timeout_s)} s; start "
          "`rlrun replay-server` there or fix --replay")


def is_unavailable(error: BaseException) -> bool:
  """Whether `error` says the server did not answer (in time), rather than a real failure.

  True for timeouts (TimeoutError, including rlrun's WriteTimeout and
  VariablesNotReady; Reverb's DeadlineExceededError; ServerUnreachable) and for
  gRPC's unavailability errors, which Reverb raises as RuntimeError.
  """
  if isinstance(error, ServerLost):
    return False
  if isinstance(error, (TimeoutError, ServerUnreachable, reverb.errors.DeadlineExceededError,
                        tf.errors.UnavailableError, tf.errors.DeadlineExceededError)):
    return True
  if isinstance(error, (RuntimeError, tf.errors.OpError)):
    text = str(error).lower()
    return any(marker in text for marker in _UNAVAILABLE_MARKERS)
  return False


def server_info(client: reverb.Client,
                timeout_s: float = 10.0) -> Dict[str, reverb.reverb_types.TableInfo]:
  """client.server_info() with a deadline (rounded up to whole seconds).

  Raises:
    ServerUnreachable: when the server does not answer in time.
  """
  try:
    return client.server_info(timeout=_seconds(timeout_s))
  except Exception as e:  # pylint: disable=broad-except
    # gRPC cancels a call under way when the server shuts down: Reverb says "Cancelled".
    if is_unavailable(e) or (isinstance(e, RuntimeError) and first_line(e) == "Cancelled"):
      raise ServerUnreachable(_unreachable(client.server_address, timeout_s)) from e
    raise


def answers(client: reverb.Client, timeout_s: float = 2.0) -> bool:
  """Whether the server answers server_info within `timeout_s` (at least 1 s)."""
  try:
    server_info(client, timeout_s)
    return True
  except ServerUnreachable:
    return False


def connect(address: str, timeout_s: float = 10.0, tables: Sequence[str] = ()) -> reverb.Client:
  """A client of the Reverb server at `address`, once it has answered.

  Args:
    address: 'HOST:PORT'.
    timeout_s: how long to wait for an answer (rounded up to whole seconds).
    tables: names the server must serve.

  Raises:
    AddressError: for an address that is not HOST:PORT.
    ServerUnreachable: when nothing answers within `timeout_s`, or something that is
      not a Reverb server does.
    UserError: when a table in `tables` is missing.
  """
  parse_address(address)
  client = reverb.Client(address)
  try:
    info = client.server_info(timeout=_seconds(timeout_s))
  except Exception as e:  # pylint: disable=broad-except
    if is_unavailable(e):
      raise ServerUnreachable(_unreachable(address, timeout_s)) from e
    raise ServerUnreachable(f"something at {address} answered, but not as a Reverb server "
                            f"({first_line(e)}); fix --replay") from e
  missing = [t for t in tables if t not in info]
  if missing:
    raise UserError(f"the Reverb server at {address} has no table {missing[0]!r} (it has "
                    f"{', '.join(sorted(info)) or 'none'}); is --replay this run's replay server?")
  return client


def _client_and_address(server: Union[str, reverb.Client]) -> Tuple[reverb.Client, str]:
  if isinstance(server, str):
    return reverb.Client(server), server
  return server, server.server_address


def _lost_message(what: str, address: str, silent_s: float, grace_s: float) -> str:
  return (f"lost the Reverb server at {address} while {what}: no answer for {silent_s:.0f} s "
          f"(grace period {grace_s:g} s); is `rlrun replay-server` still running?")


def retry(fn: Callable[[], T], grace_s: float, what: str, server: Union[str, reverb.Client],
          sleep_s: float = 1.0, probe_timeout_s: float = 2.0,
          should_stop: Optional[Callable[[], bool]] = None) -> T:
  """fn(), called again while it fails because the server did not answer.

  After an error for which is_unavailable() holds, the server is asked for
  server_info. If it answers, the call was only slow (an insert held back by the
  rate limiter, weights not published yet): fn is called again, with no limit. If it
  does not, fn is retried every `sleep_s` until the server has been silent for
  `grace_s`. Other errors propagate at once. fn must be safe to call again after
  such an error (rlrun's observer and VariableContainer calls are).

  Args:
    fn: the call; give it its own timeout (shorter than grace_s).
    grace_s: how long the server may stay silent.
    what: what fn does, for messages ("writing trajectories").
    server: the server's 'HOST:PORT' or a reverb.Client of it.
    sleep_s: the pause between attempts while the server is silent, and the least
      time between attempts that fail at once.
    probe_timeout_s: the deadline of each server_info probe (at least 1 s).
    should_stop: asked after every failed attempt; True ends the waiting.

  Raises:
    ServerLost: once the server has not answered for `grace_s`.
    Cancelled: when `should_stop` returned True.
  """
  client = None
  address = server if isinstance(server, str) else server.server_address
  silent_since = None
  waiting_since = time.monotonic()
  while True:
    started = time.monotonic()
    try:
      return fn()
    except Exception as e:  # pylint: disable=broad-except
      if not is_unavailable(e):
        raise
      error = e
    if should_stop is not None and should_stop():
      raise Cancelled(f"{what}: stopped waiting ({first_line(error)})") from error
    if client is None:
      client, address = _client_and_address(server)
    probed = time.monotonic()
    if answers(client, probe_timeout_s):
      if silent_since is not None:
        logging.warning("%s: the Reverb server at %s answers again", what, address)
        silent_since = None
      if probed - waiting_since >= _WAITING_NOTE_S:
        logging.info("%s: still waiting (%s); the server at %s answers", what,
                     first_line(error), address)
        waiting_since = probed
      time.sleep(max(0.0, sleep_s - (time.monotonic() - started)))
      continue
    if silent_since is None:
      silent_since = probed
      logging.warning("%s: the Reverb server at %s does not answer (%s); retrying for up to "
                      "%g s", what, address, first_line(error), grace_s)
    silent_s = time.monotonic() - silent_since
    if silent_s >= grace_s:
      raise ServerLost(_lost_message(what, address, silent_s, grace_s)) from error
    time.sleep(min(sleep_s, grace_s - silent_s))


def _exit_server_lost(error: ServerLost) -> None:
  sys.stderr.write(f"rlrun: error: {error}\n")
  sys.stderr.flush()
  os._exit(EXIT_SERVER_LOST)  # pylint: disable=protected-access


class Watchdog:
  """Watches a Reverb server from a daemon thread, for calls that cannot take a deadline.

  A tf.data Reverb dataset (the learner's sampling) waits forever for a server that
  went away. The watchdog asks for server_info every `interval_s`; once the server has
  been silent for `grace_s` it calls `on_lost` with a ServerLost, once. The default
  prints the message on stderr and ends the process with EXIT_SERVER_LOST (3) at
  once (os._exit): the stuck call cannot be interrupted.

  Args:
    server: the server's 'HOST:PORT' or a reverb.Client of it.
    grace_s: how long the server may stay silent.
    what: what the process does, for the message ("training").
    interval_s: seconds between probes.
    probe_timeout_s: the deadline of each probe (at least 1 s).
    on_lost: called (from the watchdog thread) when the server is lost.
  """

  def __init__(self, server: Union[str, reverb.Client], grace_s: float, what: str,
               interval_s: float = 2.0, probe_timeout_s: float = 2.0,
               on_lost: Optional[Callable[[ServerLost], None]] = None):
    self._client, self._address = _client_and_address(server)
    self._grace_s = grace_s
    self._what = what
    self._interval_s = interval_s
    self._probe_timeout_s = probe_timeout_s
    self._on_lost = on_lost or _exit_server_lost
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._watch, name="reverb-watchdog", daemon=True)

  def start(self) -> "Watchdog":
    self._thread.start()
    return self

  def stop(self) -> None:
    """Stops watching (returns at once; a probe under way ends on its own)."""
    self._stop.set()

  def __enter__(self) -> "Watchdog":
    return self.start()

  def __exit__(self, *exc) -> None:
    self.stop()

  def _watch(self) -> None:
    silent_since = None
    while not self._stop.is_set():
      probed = time.monotonic()
      try:
        answered = answers(self._client, self._probe_timeout_s)
      except Exception:  # pylint: disable=broad-except
        answered = False  # a probe that fails otherwise is no answer either (never end the thread)
      if answered:
        silent_since = None
      else:
        silent_since = probed if silent_since is None else silent_since
        silent_s = time.monotonic() - silent_since
        if silent_s >= self._grace_s and not self._stop.is_set():
          self._on_lost(ServerLost(_lost_message(self._what, self._address, silent_s,
                                                 self._grace_s)))
          return
      self._stop.wait(max(0.0, self._interval_s - (time.monotonic() - probed)))
