"""ParallelPyEnvironment: a batch of PyEnvironments, each stepped in its own process.

Children are started with the 'spawn' method: a fresh interpreter that imports only
this module (numpy, dm-tree, cloudpickle) and whatever the env constructor needs. Forking a
parent that has started TensorFlow or Reverb threads can deadlock the child and
copies their state, so fork is never used.
"""

import atexit
import multiprocessing
import os
import signal
import sys
import time
import traceback
import types
import weakref
from typing import Any, Callable, List, Optional, Sequence, Tuple

# Unlike pickle, cloudpickle takes lambdas, closures and classes of the main script
# (by value). gym requires it, so it is always installed alongside.
import cloudpickle as _pickler
import numpy as np
import tree

from rlrun.environments import batched_py_environment, py_environment
from rlrun.trajectories import time_step as ts

_CONTEXT = multiprocessing.get_context("spawn")
# How often a waiting parent re-checks that the child it waits for is alive.
_POLL_SECONDS = 0.05
# How long close() waits for children to exit before terminating them.
_CLOSE_SECONDS = 5.0
_SPEC_METHODS = ("observation_spec", "action_spec", "reward_spec", "discount_spec")
_live_envs: "weakref.WeakSet[ParallelPyEnvironment]" = weakref.WeakSet()


def _describe(error: BaseException) -> Tuple[str, str, str]:
  return type(error).__name__, str(error), traceback.format_exc()


def _send(conn: Any, message: Any) -> bool:
  """Sends from the child; False when the parent is gone."""
  try:
    conn.send(message)
  except (BrokenPipeError, ConnectionResetError, EOFError):
    return False
  except Exception as e:  # pylint: disable=broad-except  # e.g. an unpicklable result
    try:
      conn.send(("error", _describe(e)))
    except OSError:
      return False
  return True


def _run_command(env: py_environment.PyEnvironment, command: str, args: Tuple[Any, ...],
                 flatten: bool) -> Any:
  if command == "step" and flatten:
    args = (tree.unflatten_as(env.action_spec(), args[0]),)
  result = getattr(env, command)(*args)
  if flatten and command in ("step", "reset"):
    result = tree.flatten(result)
  return result


def _worker(conn: Any, index: int, payload: bytes, flatten: bool) -> None:
  """The child's main loop: builds the env, then answers (command, args) messages."""
  # Ctrl-C reaches the whole process group; the parent handles it and closes us.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  try:
    env = _pickler.loads(payload)()
    if not isinstance(env, py_environment.PyEnvironment):
      raise TypeError(f"env constructor {index} returned {type(env).__name__}, not a "
                      "PyEnvironment; wrap gym envs with suite_gym.load or GymWrapper")
    if env.batched:
      raise ValueError(f"env constructor {index} returned a batched env; return one env")
  except Exception as e:  # pylint: disable=broad-except
    _send(conn, ("error", _describe(e)))
    conn.close()
    return
  closed = False
  try:
    if not _send(conn, ("ok", os.getpid())):
      return
    while not closed:
      try:
        command, args = conn.recv()
      except (EOFError, OSError):  # the parent is gone
        break
      closed = command == "close"
      try:
        reply = ("ok", _run_command(env, command, args, flatten))
      except Exception as e:  # pylint: disable=broad-except
        reply = ("error", _describe(e))
      if not _send(conn, reply):
        break
  finally:
    if not closed:
      env.close()
    conn.close()


class ParallelPyEnvironment(py_environment.PyEnvironment):
  """Steps unbatched environments in child processes, concurrently, as one batch.

  Outputs are stacked like BatchedPyEnvironment's and each member auto-resets
  itself after its LAST. A failure in a child (an exception, death, or no answer
  within `timeout`) raises RuntimeError naming the env index and shuts all
  children down.

  Args:
    env_constructors: picklable zero-argument callables returning equal-spec
      unbatched PyEnvironments, e.g. functools.partial(suite_gym.load, 'CartPole-v0').
    start_serially: start each child only after the previous one is ready.
    blocking: wait for each child's answer before sending to the next (no concurrency).
    flatten: send actions and time steps as flat lists (cheaper for deep nests).
    timeout: seconds to wait for any child's answer (including its construction).
  """

  def __init__(self, env_constructors: Sequence[Callable[[], py_environment.PyEnvironment]],
               start_serially: bool = False, blocking: bool = False, flatten: bool = False,
               timeout: float = 60.0):
    super().__init__(handle_auto_reset=False)
    self._processes: List[Any] = []
    self._conns: List[Any] = []
    self._closed = False
    if isinstance(env_constructors, (str, bytes)) or not hasattr(env_constructors, "__iter__"):
      raise TypeError(f"env_constructors must be a list of zero-argument callables, got "
                      f"{type(env_constructors).__name__}: {env_constructors!r}")
    constructors = list(env_constructors)
    if not constructors:
      raise ValueError("ParallelPyEnvironment needs at least one env constructor, got none")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
      raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    payloads = []
    for i, constructor in enumerate(constructors):
      if not callable(constructor):
        raise TypeError(f"env_constructors[{i}] must be a zero-argument callable, got "
                        f"{type(constructor).__name__}: {constructor!r}")
      try:
        payloads.append(_pickler.dumps(constructor))
      except Exception as e:  # pylint: disable=broad-except
        raise TypeError(f"env_constructors[{i}] {constructor!r} cannot be pickled "
                        f"({type(e).__name__}: {e}); use a module-level function or "
                        "functools.partial of one") from e
    self._blocking = bool(blocking)
    self._flatten = bool(flatten)
    self._timeout = float(timeout)
    _live_envs.add(self)
    try:
      self._start_all(payloads, start_serially)
    except BaseException:  # e.g. Ctrl-C while waiting: leave no children behind
      self.close()
      raise

  def _start_all(self, payloads: List[bytes], start_serially: bool) -> None:
    for i, payload in enumerate(payloads):
      self._start(i, payload)
      if start_serially:
        self._receive(i, "construction", time.monotonic() + self._timeout)
    if not start_serially:
      deadline = time.monotonic() + self._timeout
      for i in range(len(payloads)):
        self._receive(i, "construction", deadline)
    self._specs = {}
    for name in _SPEC_METHODS:
      specs = self._call_all(name, [()] * self.batch_size)
      same = batched_py_environment._same_specs  # pylint: disable=protected-access
      for i, spec in enumerate(specs[1:], start=1):
        if not same(spec, specs[0]):
          raise ValueError(f"env {i}'s {name}() {spec!r} differs from env 0's {specs[0]!r}; "
                           "all members need equal specs")
      self._specs[name] = specs[0]
    self._time_step_spec = self._call(0, "time_step_spec")

  def _start(self, index: int, payload: bytes) -> None:
    parent_conn, child_conn = _CONTEXT.Pipe()
    process = _CONTEXT.Process(target=_worker, args=(child_conn, index, payload, self._flatten),
                               name=f"ParallelPyEnvironment-{index}", daemon=True)
    # spawn normally re-runs the parent's main script in the child, which would
    # import whatever it imports (TensorFlow) and re-enter unguarded top-level code.
    # cloudpickle ships __main__'s functions and classes by value: no child needs it.
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
      process.start()
    finally:
      sys.modules["__main__"] = main
    # Only the child holds its end now, so the parent's recv sees EOF if it dies.
    child_conn.close()
    self._processes.append(process)
    self._conns.append(parent_conn)

  def _fail(self, index: int, message: str, hung: bool = False, detail: str = "") -> RuntimeError:
    """Shuts every child down and returns the error to raise."""
    if hung:  # it will not answer a close command either
      self._processes[index].terminate()
    self.close()
    return RuntimeError(f"ParallelPyEnvironment env {index} {message} (all child processes "
                        f"were shut down; create a new ParallelPyEnvironment){detail}")

  def _send_command(self, index: int, command: str, args: Tuple[Any, ...]) -> None:
    if self._closed:
      raise RuntimeError(f"ParallelPyEnvironment is closed; cannot {command}, create a new one")
    try:
      self._conns[index].send((command, args))
    except (BrokenPipeError, ConnectionResetError, EOFError):
      process = self._processes[index]
      process.join(1.0)
      raise self._fail(index, f"(pid {process.pid}) died before {command} "
                       f"(exit code {process.exitcode})") from None

  def _receive(self, index: int, what: str, deadline: float) -> Any:
    conn, process = self._conns[index], self._processes[index]
    while True:
      try:
        if conn.poll(_POLL_SECONDS):  # also True at EOF, when the child died
          status, payload = conn.recv()
          break
      except (EOFError, OSError):
        process.join(1.0)
        raise self._fail(index, f"(pid {process.pid}) died during {what} (exit code "
                         f"{process.exitcode}; killed or crashed)") from None
      if time.monotonic() > deadline:
        raise self._fail(index, f"(pid {process.pid}) did not answer {what} within "
                         f"{self._timeout} s; pass a larger timeout= if the env is slow", hung=True)
    if status == "error":
      type_name, message, child_traceback = payload
      raise self._fail(index, f"raised {type_name} during {what}: {message}",
                       detail=f"\nChild traceback:\n{child_traceback.rstrip()}")
    return payload

  def _call(self, index: int, command: str, *args: Any) -> Any:
    self._send_command(index, command, args)
    return self._receive(index, command, time.monotonic() + self._timeout)

  def _call_all(self, command: str, args: Sequence[Tuple[Any, ...]]) -> List[Any]:
    """Runs `command` on every child with its args; concurrently unless blocking."""
    if self._blocking:
      return [self._call(i, command, *a) for i, a in enumerate(args)]
    deadline = time.monotonic() + self._timeout
    for i, a in enumerate(args):
      self._send_command(i, command, a)
    return [self._receive(i, command, deadline) for i in range(len(args))]

  @property
  def batched(self) -> bool:
    return True

  @property
  def batch_size(self) -> int:
    return len(self._processes)

  @property
  def pids(self) -> List[int]:
    """The process ids of the children, by env index."""
    return [p.pid for p in self._processes]

  def observation_spec(self) -> Any:
    return self._specs["observation_spec"]

  def action_spec(self) -> Any:
    return self._specs["action_spec"]

  def reward_spec(self) -> Any:
    return self._specs["reward_spec"]

  def discount_spec(self) -> Any:
    return self._specs["discount_spec"]

  def time_step_spec(self) -> ts.TimeStep:
    return self._time_step_spec

  def _stack(self, time_steps: List[Any]) -> ts.TimeStep:
    if self._flatten:
      time_steps = [tree.unflatten_as(self._time_step_spec, t) for t in time_steps]
    return batched_py_environment._stack(time_steps)  # pylint: disable=protected-access

  def _reset(self) -> ts.TimeStep:
    return self._stack(self._call_all("reset", [()] * self.batch_size))

  def _step(self, actions: Any) -> ts.TimeStep:
    for leaf in tree.flatten(actions):
      shape = np.shape(leaf)
      if not shape or shape[0] != self.batch_size:
        raise ValueError(f"action leaf of shape {shape} has no leading batch dimension of "
                         f"size {self.batch_size}; pass actions shaped ({self.batch_size}, ...)")
    per_env = [tree.map_structure(lambda a, i=i: np.asarray(a)[i], actions)
               for i in range(self.batch_size)]
    if self._flatten:
      per_env = [tree.flatten(a) for a in per_env]
    return self._stack(self._call_all("step", [(a,) for a in per_env]))

  def render(self, mode: str = "rgb_array") -> Optional[np.ndarray]:
    """Member 0's frame."""
    return self._call(0, "render", mode)

  def seed(self, seed: Optional[int]) -> None:
    """Seeds member i with `seed + i` (or all with None)."""
    self._call_all("seed", [(None if seed is None else int(seed) + i,)
                            for i in range(self.batch_size)])

  def get_info(self) -> List[Any]:
    return self._call_all("get_info", [()] * self.batch_size)

  def close(self) -> None:
    """Closes every member and ends its process; safe to call more than once."""
    if getattr(self, "_closed", True):
      return
    self._closed = True
    _live_envs.discard(self)
    for conn in self._conns:
      try:
        conn.send(("close", ()))
      except (OSError, ValueError):  # that child is already gone
        pass
      # Closing our end now unblocks a child stuck sending a large reply.
      conn.close()
    deadline = time.monotonic() + _CLOSE_SECONDS
    for process in self._processes:
      process.join(max(0.0, deadline - time.monotonic()))
    for process in self._processes:
      if process.is_alive():
        process.terminate()
        process.join(1.0)
      if process.is_alive():
        process.kill()
        process.join(1.0)

  def __del__(self):
    try:
      self.close()
    except Exception:  # pylint: disable=broad-except  # best effort at interpreter exit
      pass


@atexit.register
def _close_all_at_exit() -> None:
  for env in list(_live_envs):
    env.close()
