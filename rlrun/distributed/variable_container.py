"""The variable table: the learner pushes the newest policy weights, actors pull them."""

import math
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import reverb
import tensorflow as tf
import tree

from rlrun.distributed import connection
from rlrun.errors import UserError


class VariablesNotReady(TimeoutError):
  """No weights arrived in time: the learner has not pushed any yet (the server answers)."""


class PushTimeout(TimeoutError):
  """Pushing weights did not finish in time (the server does not answer); push again."""


def variable_signature(variables: Sequence[Any]) -> dict:
  """The variable table's signature: {'step': int64 scalar, 'weights': [one spec each]}.

  Args:
    variables: tf.Variables, arrays or specs (anything with .shape and .dtype), in the
      order push() and pull() use.
  """
  return {"step": tf.TensorSpec([], tf.int64),
          "weights": [tf.TensorSpec(tf.TensorShape(v.shape), tf.as_dtype(v.dtype))
                      for v in variables]}


def make_variable_table(name: str, variables: Sequence[Any]) -> reverb.Table:
  """A table holding one item, the newest weights: each insert replaces the last.

  Fifo sampler and remover, max_size 1, items never removed by sampling, and a
  MinSize(1) limiter: samples wait for the first push, inserts never wait.

  Args:
    name: the table name.
    variables: tf.Variables, arrays or specs, in push/pull order.
  """
  if not variables:
    raise ValueError(f"variable table {name!r} needs at least one variable")
  return reverb.Table(name, sampler=reverb.selectors.Fifo(), remover=reverb.selectors.Fifo(),
                      max_size=1, rate_limiter=reverb.rate_limiters.MinSize(1),
                      max_times_sampled=0, signature=variable_signature(variables))


class _Fetch:
  """One call on a daemon thread: a Reverb sampler waits forever for a server that is gone."""

  def __init__(self, fn: Callable[[], Any]):
    self._done = threading.Event()
    self._value = None
    self._error = None
    threading.Thread(target=self._run, args=(fn,), name="reverb-variable-pull",
                     daemon=True).start()

  def _run(self, fn: Callable[[], Any]) -> None:
    try:
      self._value = fn()
    except BaseException as e:  # pylint: disable=broad-except
      self._error = e
    finally:
      self._done.set()

  def done(self) -> bool:
    return self._done.is_set()

  def wait(self, timeout_s: float) -> bool:
    return self._done.wait(timeout_s)

  def result(self) -> Any:
    if self._error is not None:
      raise self._error
    return self._value


class VariableContainer:
  """Pushes and pulls weights (plus the train step) through a variable table.

  Every call has a deadline. A pull samples on a daemon thread and waits up to its
  timeout; a sample still under way then is waited on again by the next pull, so at
  most one thread waits on the server. Use one container from one thread.

  Args:
    client: a reverb.Client of the server (see connection.connect).
    table: the variable table (see make_variable_table) or its name.
    timeout_s: the default deadline of push() and pull(); also of the server_info
      call the constructor makes to read the table's signature.

  Raises:
    ServerUnreachable: when the server does not answer within `timeout_s`.
    UserError: when the server has no such table, or it is no variable table.
  """

  def __init__(self, client: reverb.Client, table: Union[str, reverb.Table],
               timeout_s: float = 10.0):
    if not timeout_s > 0:
      raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    self._client = client
    self._table = table if isinstance(table, str) else table.name
    self._timeout_s = timeout_s
    info = connection.server_info(client, timeout_s)
    if self._table not in info:
      raise UserError(f"the Reverb server at {self.address} has no variable table "
                      f"{self._table!r} (it has {', '.join(sorted(info)) or 'none'})")
    signature = info[self._table].signature
    if not isinstance(signature, dict) or set(signature) != {"step", "weights"}:
      raise UserError(f"table {self._table!r} at {self.address} is not a variable table "
                      "(see make_variable_table)")
    self._signature = signature
    self._specs = list(signature["weights"])
    self._writer = None
    self._fetch: Optional[_Fetch] = None

  @property
  def address(self) -> str:
    return self._client.server_address

  @property
  def table(self) -> str:
    return self._table

  def push(self, weights: Sequence[np.ndarray], step: int,
           timeout_s: Optional[float] = None) -> None:
    """Makes `weights` (in the table's variable order) and `step` the newest item.

    Raises:
      ValueError: when the arrays do not match the table's signature.
      PushTimeout: when the server does not confirm within the timeout. The weights
        are then dropped (not sent later), so pushing again is safe.
    """
    timeout_s = self._timeout_s if timeout_s is None else timeout_s
    arrays = self._checked(weights)
    if self._writer is None:
      # Validation would fetch the signature with no deadline; _checked does it.
      self._writer = self._client.trajectory_writer(num_keep_alive_refs=1,
                                                    validate_items=False)
    writer = self._writer
    writer.append({"step": np.int64(step), "weights": arrays})
    writer.create_item(self._table, 1.0, tree.map_structure(lambda c: c[-1], writer.history))
    try:
      writer.flush(timeout_ms=max(1, math.ceil(timeout_s * 1000)))
    except reverb.errors.DeadlineExceededError as e:
      self._close_writer()  # an older push must not land after a newer one
      raise PushTimeout(f"pushing weights (step {step}) to table {self._table!r} at "
                        f"{self.address} did not finish within {timeout_s:g} s: the server "
                        "is not answering") from e

  def pull(self, timeout_s: Optional[float] = None) -> Tuple[List[np.ndarray], int]:
    """The newest weights and their step.

    Raises:
      VariablesNotReady: when none arrived within the timeout while the server
        answers (the learner has not pushed yet); pull again to keep waiting.
      ServerUnreachable: when the server does not answer.
    """
    timeout_s = self._timeout_s if timeout_s is None else timeout_s
    fetch = self._fetch
    if fetch is None or fetch.done():  # a sample nobody collected may be stale
      fetch = self._fetch = _Fetch(self._sample)
    if not fetch.wait(timeout_s):
      # Still waiting: an empty table, or no server (server_info tells which).
      size = connection.server_info(self._client, min(timeout_s, 2.0))[self._table].current_size
      raise VariablesNotReady(
          f"no weights arrived from table {self._table!r} at {self.address} within "
          f"{timeout_s:g} s: " + ("the learner has not pushed any yet" if size == 0 else
                                  "the server answers but is slow"))
    self._fetch = None
    try:
      return fetch.result()
    except Exception as e:  # pylint: disable=broad-except
      if connection.is_unavailable(e):
        raise connection.ServerUnreachable(
            f"the Reverb server at {self.address} failed while pulling weights from "
            f"{self._table!r} ({connection.first_line(e)})") from e
      raise

  def close(self) -> None:
    """Closes the writer (a pull under way ends with the process)."""
    self._close_writer()

  def _sample(self) -> Tuple[List[np.ndarray], int]:
    sample = next(self._client.sample(self._table, num_samples=1, emit_timesteps=False))
    data = tree.unflatten_as(self._signature, [np.asarray(x) for x in sample.data])
    return list(data["weights"]), int(data["step"])

  def _checked(self, weights: Sequence[np.ndarray]) -> List[np.ndarray]:
    arrays = [np.asarray(w) for w in weights]
    if len(arrays) != len(self._specs):
      raise ValueError(f"got {len(arrays)} arrays for table {self._table!r}, which holds "
                       f"{len(self._specs)} variables")
    for i, (array, spec) in enumerate(zip(arrays, self._specs)):
      if array.dtype != spec.dtype.as_numpy_dtype or not spec.shape.is_compatible_with(
          array.shape):
        raise ValueError(f"weights[{i}] is {array.dtype}{list(array.shape)} but table "
                         f"{self._table!r} holds {spec.dtype.name}{spec.shape.as_list()}")
    return arrays

  def _close_writer(self) -> None:
    writer, self._writer = self._writer, None
    if writer is not None:
      writer.close()
