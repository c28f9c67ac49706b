"""Supervises the child processes of a distributed run: start, restart on crash, ordered stop.

Every child runs in its own session (its own process group), so a terminal Ctrl-C reaches
only the supervisor, which then stops the children in the order it chooses. Signals go
to a child's whole process group, and whatever is left in the group when the child
exits is killed, so helpers a child started do not outlive it.

Platform: POSIX only (process groups, killpg). The guarantee that children die with
the supervisor, even when it is killed by SIGKILL, uses prctl(PR_SET_PDEATHSIG) and is
Linux-only; elsewhere children outlive a killed supervisor. PR_SET_PDEATHSIG fires when
the *thread* that started a child exits, so start children from one long-lived thread
(the main thread). The supervisor is not thread-safe.

Typical use (see rlrun.distributed.launcher): start ChildSpecs, call poll() in a loop
to restart crashed children, and leave the `with Supervisor() as sup:` block (or call
shutdown) to stop them stage by stage, lowest ChildSpec.stop_stage first.

Children are local processes by default; a `spawn` function can start them elsewhere (a
Ray actor hosting the process on another node, see rlrun.distributed.ray_hosts) behind
the same three operations: `pid`, `exit_code()` and `signal(sig)`.
"""

import dataclasses
import enum
import signal
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Union

# ChildSpec and LocalProcess are imported from here by the launcher and ray_hosts too.
from rlrun.distributed.child_processes import (ChildSpec, LocalProcess, Process, timestamp,
                                               start_header)
from rlrun.distributed.process_groups import describe_exit

_POLL_S = 0.02  # how often blocking waits look at their children
_KILL_WAIT_S = 5.0  # how long to wait for a child to vanish after SIGKILL


class EventKind(str, enum.Enum):
  """What happened to a child."""
  STARTED = "started"  # first start or a restart
  RESTARTING = "restarting"  # exited non-zero; a restart is scheduled after a backoff
  FINISHED = "finished"  # exited 0; never restarted
  FAILED = "failed"  # exited non-zero; not restarted, not critical
  FATAL = "fatal"  # a critical child failed, or a child used up its restarts
  STOPPED = "stopped"  # exited (or was killed) in stop(), or its pending restart was cancelled


class State(str, enum.Enum):
  """Where a child is in its life."""
  RUNNING = "running"
  WAITING = "waiting"  # crashed, restart scheduled
  FINISHED = "finished"
  FAILED = "failed"
  STOPPED = "stopped"


@dataclasses.dataclass(frozen=True)
class Event:
  """One thing that happened to a child; `message` is a line for humans."""
  kind: EventKind
  name: str
  message: str
  returncode: Optional[int] = None
  restarts: int = 0  # restarts of this child so far (including a scheduled one)
  max_restarts: int = 0
  delay: float = 0.0  # seconds until a scheduled restart
  pid: Optional[int] = None
  time: float = dataclasses.field(default_factory=time.time)

  def __str__(self) -> str:
    return self.message


@dataclasses.dataclass
class _Child:
  spec: ChildSpec
  max_restarts: int
  proc: Optional[Process] = None
  state: State = State.RUNNING
  restarts: int = 0
  restart_at: float = 0.0
  returncode: Optional[int] = None


class Supervisor:
  """Owns child processes: starts them, restarts crashed ones, stops them in order.

  Nothing blocks except stop(), shutdown() and wait(): a crashed restartable child is
  restarted by a later poll() once its backoff has passed. Every event goes to
  `on_event`, to the `log_path` file and to the list the next poll() returns.

  Args:
    max_restarts: restarts allowed per child over the supervisor's life; one more
      crash is a FATAL event.
    backoff_s: the delay before a child's first restart; it grows by
      `backoff_factor` per restart, up to `max_backoff_s`.
    backoff_factor: see backoff_s.
    max_backoff_s: see backoff_s.
    stop_timeout: default seconds between SIGTERM and SIGKILL in stop().
    log_path: the supervisor's own log (None: none).
    on_event: called with every Event as it happens.
    spawn: starts a child from its spec and its log header line; raises OSError when
      it cannot (None: LocalProcess).
  """

  def __init__(self, max_restarts: int = 5, backoff_s: float = 1.0,
               backoff_factor: float = 2.0, max_backoff_s: float = 30.0,
               stop_timeout: float = 10.0, log_path: Optional[Path] = None,
               on_event: Optional[Callable[[Event], None]] = None,
               spawn: Optional[Callable[[ChildSpec, str], Process]] = None):
    if max_restarts < 0 or backoff_s < 0 or backoff_factor < 1 or stop_timeout < 0:
      raise ValueError("max_restarts, backoff_s and stop_timeout must be >= 0 and "
                       "backoff_factor >= 1")
    self._max_restarts = max_restarts
    self._backoff_s = backoff_s
    self._backoff_factor = backoff_factor
    self._max_backoff_s = max_backoff_s
    self._stop_timeout = stop_timeout
    self._log_path = Path(log_path) if log_path is not None else None
    self._on_event = on_event
    self._spawner = spawn or LocalProcess
    self._children: Dict[str, _Child] = {}
    self._events: List[Event] = []
    self._unreported: List[Event] = []
    self._closed = False
    if self._log_path is not None:
      self._log_path.parent.mkdir(parents=True, exist_ok=True)

  # Queries.

  @property
  def names(self) -> List[str]:
    return list(self._children)

  @property
  def events(self) -> List[Event]:
    """Every event so far, oldest first."""
    return list(self._events)

  @property
  def fatal(self) -> Optional[Event]:
    """The first FATAL event, or None."""
    return next((e for e in self._events if e.kind is EventKind.FATAL), None)

  def state(self, name: str) -> State:
    return self._children[name].state

  def is_running(self, name: str) -> bool:
    return self._children[name].state is State.RUNNING

  def running(self) -> List[str]:
    return [n for n, c in self._children.items() if c.state is State.RUNNING]

  def pid(self, name: str) -> Optional[int]:
    """The pid of the child's current process (None unless it is running)."""
    child = self._children[name]
    return child.proc.pid if child.state is State.RUNNING else None

  def returncode(self, name: str) -> Optional[int]:
    """How the child's last process exited (None while it runs); negative: a signal."""
    return self._children[name].returncode

  def restarts(self, name: str) -> int:
    """How often the child was restarted (or is scheduled to be)."""
    return self._children[name].restarts

  # Life cycle.

  def start(self, spec: ChildSpec) -> int:
    """Starts a child (or a new one under the name of a finished child); returns its pid."""
    if self._closed:
      raise RuntimeError(f"cannot start {spec.name}: the supervisor is shut down")
    old = self._children.get(spec.name)
    if old is not None and old.state in (State.RUNNING, State.WAITING):
      raise ValueError(f"a child named {spec.name} is already {old.state.value}")
    limit = self._max_restarts if spec.max_restarts is None else spec.max_restarts
    child = _Child(spec=spec, max_restarts=limit)
    self._spawn(child)  # raises OSError (e.g. no such program) before registering
    self._children[spec.name] = child
    self._emit(child, EventKind.STARTED, f"{spec.name} started (pid {child.proc.pid}{child.proc.where})")
    return child.proc.pid

  def poll(self) -> List[Event]:
    """Reaps exited children, starts due restarts; returns the events since the last poll."""
    now = time.monotonic()
    for child in list(self._children.values()):
      if child.state is State.RUNNING:
        code = self._exit_code(child)
        if code is not None:
          self._on_exit(child, code, may_restart=not self._closed)
      elif child.state is State.WAITING and now >= child.restart_at:
        self._restart(child)
    events, self._unreported = self._unreported, []
    return events

  def wait(self, name: str, timeout: Optional[float] = None) -> Optional[int]:
    """Waits for the child's current process to exit; its code, or None on timeout.

    The exit is handled as in poll() (a restart may be scheduled); a child that is
    not running returns its last code at once.
    """
    child = self._children[name]
    deadline = None if timeout is None else time.monotonic() + timeout
    while child.state is State.RUNNING:
      code = self._exit_code(child)
      if code is not None:
        self._on_exit(child, code, may_restart=not self._closed)
        return code
      if deadline is not None and time.monotonic() >= deadline:
        return None
      time.sleep(_POLL_S)
    return child.returncode

  def stop(self, names: Optional[Iterable[str]] = None, *, sig: int = signal.SIGTERM,
           timeout: Optional[float] = None) -> Dict[str, Optional[int]]:
    """Stops a group of children together; returns {name: returncode}.

    Sends `sig` to each running child's process group, waits up to `timeout` (None:
    each child's stop_timeout) for them to exit, SIGKILLs the rest and reaps them all.
    Pending restarts are cancelled. Children already gone are left as they are. Safe
    to call again.

    Args:
      names: a name or the names of the children to stop (None: all). Unknown names
        raise KeyError.
      sig: the polite signal.
      timeout: seconds to wait before SIGKILL.
    """
    targets = list(self._children.values()) if names is None else [
        self._children[n] for n in ([names] if isinstance(names, str) else names)]
    pending = []
    for child in targets:
      if child.state is State.WAITING:
        child.state = State.STOPPED
        self._emit(child, EventKind.STOPPED,
                   f"{child.spec.name}: pending restart cancelled", child.returncode)
      elif child.state is State.RUNNING:
        code = self._exit_code(child)
        if code is not None:  # exited on its own before we asked
          self._on_exit(child, code, may_restart=False)
          continue
        child.proc.signal(sig)
        wait_s = timeout if timeout is not None else (
            child.spec.stop_timeout if child.spec.stop_timeout is not None
            else self._stop_timeout)
        pending.append((child, time.monotonic(), wait_s))
    killed = []
    while pending:
      waiting = []
      for child, sent, wait_s in pending:
        code = self._exit_code(child)
        if code is not None:
          self._on_stopped(child, code, f"{child.spec.name} stopped "
                           f"({describe_exit(code)}) after {time.monotonic() - sent:.1f} s")
        elif time.monotonic() - sent >= wait_s:
          child.proc.signal(signal.SIGKILL)
          killed.append((child, wait_s))
        else:
          waiting.append((child, sent, wait_s))
      pending = waiting
      if pending:
        time.sleep(_POLL_S)
    for child, wait_s in killed:
      code = self._wait_exit(child, _KILL_WAIT_S)
      if code is None:
        message = (f"{child.spec.name} (pid {child.proc.pid}{child.proc.where}) survived "
                   "SIGKILL; abandoned")
      else:
        message = (f"{child.spec.name} did not stop within {wait_s:.1f} s; "
                   f"killed ({describe_exit(code)})")
      self._on_stopped(child, code, message)
    return {c.spec.name: c.returncode for c in targets}

  def shutdown(self, order: Optional[Sequence[Union[str, Sequence[str]]]] = None, *,
               timeout: Optional[float] = None) -> Dict[str, Optional[int]]:
    """Stops every child and forbids restarts and starts; returns {name: returncode}.

    Stops the groups in `order` first (unknown names are ignored), then the other
    children stage by stage (ChildSpec.stop_stage, lowest first). If this is
    interrupted (a second Ctrl-C), every child is SIGKILLed and reaped before the
    exception propagates. Safe to call twice and from a finally block.
    """
    self._closed = True
    try:
      for group in order or ():
        group = [group] if isinstance(group, str) else group
        self.stop([n for n in group if n in self._children], timeout=timeout)
      for stage in sorted({c.spec.stop_stage for c in self._children.values()}):
        self.stop([n for n, c in self._children.items() if c.spec.stop_stage == stage],
                  timeout=timeout)
    except BaseException:
      self._kill_all()
      raise
    return {n: c.returncode for n, c in self._children.items()}

  def close(self) -> None:
    self.shutdown()

  def __enter__(self) -> "Supervisor":
    return self

  def __exit__(self, *exc) -> None:
    self.shutdown()

  # Internals.

  def _spawn(self, child: _Child) -> None:
    restart = f" (restart {child.restarts}/{child.max_restarts})" if child.restarts else ""
    child.proc = self._spawner(child.spec, start_header(child.spec, restart))
    child.state = State.RUNNING
    child.returncode = None

  def _restart(self, child: _Child) -> None:
    name = child.spec.name
    try:
      self._spawn(child)
    except OSError as e:
      self._on_exit(child, None, may_restart=True, reason=f"could not be restarted ({e})")
      return
    self._emit(child, EventKind.STARTED, f"{name} restarted (pid {child.proc.pid}{child.proc.where}, "
               f"restart {child.restarts}/{child.max_restarts})")

  def _on_exit(self, child: _Child, code: Optional[int], may_restart: bool,
               reason: Optional[str] = None) -> None:
    """Classifies an exit: finished, restart scheduled, failed or fatal."""
    name, spec = child.spec.name, child.spec
    child.returncode = code
    reason = reason or f"exited with {describe_exit(code)}"
    if code == 0:
      child.state = State.FINISHED
      self._emit(child, EventKind.FINISHED, f"{name} finished", code)
    elif spec.restart and may_restart and child.restarts < child.max_restarts:
      child.restarts += 1
      delay = min(self._backoff_s * self._backoff_factor ** (child.restarts - 1),
                  self._max_backoff_s)
      child.restart_at = time.monotonic() + delay
      child.state = State.WAITING
      self._emit(child, EventKind.RESTARTING, f"{name} {reason}; restarting "
                 f"({child.restarts}/{child.max_restarts}) in {delay:.1f} s", code, delay)
    else:
      child.state = State.FAILED
      if spec.restart and may_restart:
        self._emit(child, EventKind.FATAL,
                   f"{name} {reason}; restart limit ({child.max_restarts}) reached", code)
      elif spec.critical:
        self._emit(child, EventKind.FATAL, f"{name} {reason}; the run cannot go on", code)
      else:
        self._emit(child, EventKind.FAILED, f"{name} {reason}", code)

  def _on_stopped(self, child: _Child, code: Optional[int], message: str) -> None:
    child.returncode = code
    child.state = State.STOPPED
    self._emit(child, EventKind.STOPPED, message, code)

  def _exit_code(self, child: _Child) -> Optional[int]:
    """The exit code once the child has exited (reaping it), else None."""
    return child.proc.exit_code()

  def _wait_exit(self, child: _Child, timeout: float) -> Optional[int]:
    deadline = time.monotonic() + timeout
    while True:
      code = self._exit_code(child)
      if code is not None or time.monotonic() >= deadline:
        return code
      time.sleep(_POLL_S)

  def _kill_all(self) -> None:
    """SIGKILLs and reaps every running child; for an interrupted shutdown."""
    for child in self._children.values():
      if child.state is State.WAITING:
        child.state = State.STOPPED
      elif child.state is State.RUNNING:
        child.proc.signal(signal.SIGKILL)
    for child in self._children.values():
      if child.state is State.RUNNING:
        code = self._wait_exit(child, _KILL_WAIT_S)
        self._on_stopped(child, code, f"{child.spec.name} killed ({describe_exit(code)})")

  def _emit(self, child: _Child, kind: EventKind, message: str,
            returncode: Optional[int] = None, delay: float = 0.0) -> None:
    event = Event(kind=kind, name=child.spec.name, message=message, returncode=returncode,
                  restarts=child.restarts, max_restarts=child.max_restarts, delay=delay,
                  pid=child.proc.pid if child.proc is not None else None)
    self._events.append(event)
    self._unreported.append(event)
    if self._log_path is not None:
      try:
        with open(self._log_path, "a", encoding="utf-8") as log:
          log.write(f"{timestamp()} {kind.value:<10} {message}\n")
      except OSError:
        pass  # a full disk must not stop supervision
    if self._on_event is not None:
      self._on_event(event)
