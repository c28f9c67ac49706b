"""Supervisor tests with real subprocesses running small `python -c` scripts."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rlrun.distributed.ports import free_port, wait_for_port
from rlrun.distributed.supervisor import ChildSpec, EventKind, State, Supervisor

PY = sys.executable
REPO = Path(__file__).resolve().parents[2]

# A child that writes "ready" once its SIGTERM handling is in place, then sleeps.
TRAP_TERM = """
import signal, sys, time
from pathlib import Path
def on_term(signum, frame):
  Path(sys.argv[1], "term").write_text(str(time.time()))
  time.sleep(float(sys.argv[2]))
  Path(sys.argv[1], "exit").write_text(str(time.time()))
  sys.exit(int(sys.argv[3]))
signal.signal(signal.SIGTERM, on_term)
Path(sys.argv[1], "ready").write_text("1")
time.sleep(60)
"""


def child(tmp_path, name, code, *args, **kwargs):
  return ChildSpec(name, [PY, "-c", textwrap.dedent(code), *map(str, args)],
                   tmp_path / "logs" / f"{name}.log", **kwargs)


def poll_until(sup, predicate, timeout=10.0):
  """Polls until predicate(sup) holds; returns the events seen."""
  events, deadline = [], time.monotonic() + timeout
  while not predicate(sup):
    assert time.monotonic() < deadline, f"timed out; events: {[str(e) for e in sup.events]}"
    events += sup.poll()
    time.sleep(0.01)
  return events + sup.poll()


def wait_for_file(path, timeout=10.0):
  deadline = time.monotonic() + timeout
  while not path.exists():
    assert time.monotonic() < deadline, f"{path} never appeared"
    time.sleep(0.01)
  return path.read_text()


def gone(pid):
  """True if the process does not exist any more (a zombie left to init counts as gone)."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
  except FileNotFoundError:
    return True


def assert_reaped(pid):
  with pytest.raises(ChildProcessError):
    os.waitpid(pid, os.WNOHANG)
  assert not Path(f"/proc/{pid}").exists()


def wait_gone(pid, timeout=5.0):
  deadline = time.monotonic() + timeout
  while not gone(pid):
    assert time.monotonic() < deadline, f"process {pid} still alive"
    time.sleep(0.02)


def test_crashing_child_restarted_with_growing_backoff_until_limit(tmp_path):
  spec = child(tmp_path, "actor_0", """
      import os, sys
      print("hello", os.environ["RLRUN_TEST"])
      print("to stderr", file=sys.stderr)
      sys.exit(3)
      """, restart=True, env={"RLRUN_TEST": "env-ok"})
  with Supervisor(max_restarts=3, backoff_s=0.1, backoff_factor=2.0,
                  log_path=tmp_path / "supervisor.log") as sup:
    sup.start(spec)
    events = poll_until(sup, lambda s: s.fatal is not None)

  restarting = [e for e in events if e.kind is EventKind.RESTARTING]
  assert [e.returncode for e in restarting] == [3, 3, 3]
  assert [e.restarts for e in restarting] == [1, 2, 3]
  assert [e.delay for e in restarting] == pytest.approx([0.1, 0.2, 0.4])
  assert str(restarting[1]) == "actor_0 exited with code 3; restarting (2/3) in 0.2 s"
  started = [e for e in events if e.kind is EventKind.STARTED]
  assert [e.restarts for e in started] == [0, 1, 2, 3]  # poll() also returns start()'s event
  for scheduled, started in zip(restarting, started[1:]):
    assert started.time - scheduled.time >= scheduled.delay - 0.01
  assert sup.fatal.returncode == 3 and "restart limit (3) reached" in str(sup.fatal)
  assert sup.state("actor_0") is State.FAILED and sup.restarts("actor_0") == 3

  lines = spec.log_path.read_text().splitlines()
  assert lines.count("hello env-ok") == 4 and lines.count("to stderr") == 4
  headers = [line for line in lines if line.startswith("==== ")]
  assert len(headers) == 4 and len(lines) == 12
  assert " start actor_0 (restart 3/3): " in headers[3] and "sys.exit(3)" in headers[3]
  supervisor_log = (tmp_path / "supervisor.log").read_text()
  assert "restarting (1/3) in 0.1 s" in supervisor_log and "fatal" in supervisor_log


def test_backoff_does_not_block_and_stop_cancels_the_restart(tmp_path):
  with Supervisor(backoff_s=30.0) as sup:
    sup.start(child(tmp_path, "actor_0", "raise SystemExit(1)", restart=True))
    poll_until(sup, lambda s: s.state("actor_0") is State.WAITING)
    start = time.monotonic()
    assert sup.poll() == [] and time.monotonic() - start < 10  # not the 30 s backoff
    assert sup.stop() == {"actor_0": 1}
    assert sup.state("actor_0") is State.STOPPED
    assert "pending restart cancelled" in str(sup.events[-1])


def test_sigkilled_child_is_restarted(tmp_path):
  with Supervisor(backoff_s=0.05) as sup:
    first = sup.start(child(tmp_path, "actor_1", "import time; time.sleep(60)", restart=True))
    assert [e.kind for e in sup.poll()] == [EventKind.STARTED]
    os.kill(first, signal.SIGKILL)
    events = poll_until(sup, lambda s: s.restarts("actor_1") == 1 and s.is_running("actor_1"))
    assert events[0].kind is EventKind.RESTARTING and events[0].returncode == -9
    assert "exited with code -9 (SIGKILL); restarting (1/5) in 0.1 s" in str(events[0])
    assert sup.pid("actor_1") not in (None, first)
    assert_reaped(first)


def test_child_exiting_zero_is_finished_not_restarted(tmp_path):
  with Supervisor(backoff_s=0.05) as sup:
    sup.start(child(tmp_path, "actor_0", "print('done')", restart=True))
    poll_until(sup, lambda s: s.state("actor_0") is State.FINISHED)
    time.sleep(0.2)
    assert sup.poll() == []
    assert sup.restarts("actor_0") == 0 and sup.returncode("actor_0") == 0
    assert [e.kind for e in sup.events] == [EventKind.STARTED, EventKind.FINISHED]


@pytest.mark.parametrize("critical, kind", [(True, EventKind.FATAL), (False, EventKind.FAILED)])
def test_non_zero_exit_without_restart(tmp_path, critical, kind):
  with Supervisor() as sup:
    sup.start(child(tmp_path, "learner", "raise SystemExit(2)", critical=critical))
    events = poll_until(sup, lambda s: s.state("learner") is State.FAILED)
    assert [(e.kind, e.returncode) for e in events] == [(EventKind.STARTED, None), (kind, 2)]
    assert (sup.fatal is not None) == critical


def test_stop_terminates_then_kills_and_reaps(tmp_path):
  clean, stubborn = tmp_path / "clean", tmp_path / "stubborn"
  clean.mkdir()
  stubborn.mkdir()
  sup = Supervisor()
  sup.start(child(tmp_path, "clean", TRAP_TERM, clean, 0, 7))
  sup.start(child(tmp_path, "stubborn", """
      import signal, sys, time
      from pathlib import Path
      signal.signal(signal.SIGTERM, signal.SIG_IGN)
      Path(sys.argv[1], "ready").write_text("1")
      time.sleep(60)
      """, stubborn, stop_timeout=0.5))
  pids = [sup.pid("clean"), sup.pid("stubborn")]
  wait_for_file(clean / "ready")
  wait_for_file(stubborn / "ready")
  start = time.monotonic()
  assert sup.stop() == {"clean": 7, "stubborn": -9}  # stubborn's own stop_timeout
  assert 0.5 <= time.monotonic() - start < 9  # not the default 10 s stop timeout
  assert (clean / "exit").exists()
  for pid in pids:
    assert_reaped(pid)
  assert "did not stop within 0.5 s; killed" in str(sup.events[-1])
  # Safe to call again, and from a finally block.
  assert sup.stop() == {"clean": 7, "stubborn": -9}
  assert sup.shutdown() == {"clean": 7, "stubborn": -9}
  assert all(sup.state(n) is State.STOPPED for n in sup.names)


@pytest.mark.parametrize("by_stage", [True, False])
def test_shutdown_stops_groups_in_order(tmp_path, by_stage):
  dirs = {n: tmp_path / n for n in ("actor_0", "actor_1", "learner", "server")}
  stages = {"actor_0": 0, "actor_1": 0, "learner": 1, "server": 2}
  with Supervisor() as sup:
    for name, directory in dirs.items():
      directory.mkdir()
      sup.start(child(tmp_path, name, TRAP_TERM, directory, 0.3, 0,
                      stop_stage=stages[name] if by_stage else 0))
    for directory in dirs.values():
      wait_for_file(directory / "ready")
    if not by_stage:
      sup.shutdown(order=[["actor_0", "actor_1", "evaluator"], "learner"])
  times = {n: (float((d / "term").read_text()), float((d / "exit").read_text()))
           for n, d in dirs.items()}
  actors_gone = max(times["actor_0"][1], times["actor_1"][1])
  assert times["learner"][0] >= actors_gone
  assert times["server"][0] >= times["learner"][1]
  assert sup.shutdown() == dict.fromkeys(dirs, 0)


def test_interrupted_shutdown_kills_everything(tmp_path):
  def interrupt(signum, frame):
    raise KeyboardInterrupt  # a second Ctrl-C while the learner checkpoints
  sup = Supervisor(stop_timeout=30.0)
  pid = sup.start(child(tmp_path, "learner", """
      import signal, sys, time
      from pathlib import Path
      signal.signal(signal.SIGTERM, signal.SIG_IGN)
      Path(sys.argv[1]).write_text("1")
      time.sleep(60)
      """, tmp_path / "ready"))
  wait_for_file(tmp_path / "ready")
  previous = signal.signal(signal.SIGALRM, interrupt)
  try:
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
      sup.shutdown()
    assert time.monotonic() - start < 20  # not the 30 s stop timeout
  finally:
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
  assert sup.returncode("learner") == -9 and sup.state("learner") is State.STOPPED
  assert_reaped(pid)


def test_context_manager_stops_children_on_exception(tmp_path):
  with pytest.raises(RuntimeError, match="boom"):
    with Supervisor() as sup:
      pid = sup.start(child(tmp_path, "actor_0", "import time; time.sleep(60)"))
      raise RuntimeError("boom")
  assert sup.state("actor_0") is State.STOPPED and sup.returncode("actor_0") == -15
  assert_reaped(pid)
  with pytest.raises(RuntimeError, match="shut down"):
    sup.start(child(tmp_path, "actor_1", "pass"))


def test_wait_and_start_errors(tmp_path):
  with Supervisor() as sup:
    sup.start(child(tmp_path, "sleeper", "import time; time.sleep(60)"))
    assert sup.wait("sleeper", timeout=0.1) is None and sup.is_running("sleeper")
    with pytest.raises(ValueError, match="already running"):
      sup.start(child(tmp_path, "sleeper", "pass"))
    sup.start(child(tmp_path, "quitter", "raise SystemExit(4)"))
    assert sup.wait("quitter", timeout=10) == 4
    assert sup.state("quitter") is State.FAILED and sup.pid("quitter") is None
    assert sup.wait("quitter") == 4
    with pytest.raises(FileNotFoundError):
      sup.start(ChildSpec("ghost", ["/nonexistent/program"], tmp_path / "ghost.log"))
    assert "ghost" not in sup.names
    with pytest.raises(KeyError):
      sup.stop(["nobody"])


def test_process_group_is_swept_when_a_child_exits(tmp_path):
  with Supervisor() as sup:
    sup.start(child(tmp_path, "parent", """
        import subprocess, sys
        from pathlib import Path
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        Path(sys.argv[1]).write_text(str(helper.pid))
        """, tmp_path / "helper_pid"))
    poll_until(sup, lambda s: s.state("parent") is State.FINISHED)
  wait_gone(int(wait_for_file(tmp_path / "helper_pid")))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_children_die_with_a_sigkilled_supervisor(tmp_path):
  script = textwrap.dedent("""
      import sys, time
      from pathlib import Path
      from rlrun.distributed.supervisor import ChildSpec, Supervisor
      out = Path(sys.argv[1])
      sup = Supervisor()
      sup.start(ChildSpec("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"],
                          out / "sleeper.log"))
      (out / "pid.tmp").write_text(str(sup.pid("sleeper")))
      (out / "pid.tmp").rename(out / "pid")
      time.sleep(60)
      """)
  supervisor = subprocess.Popen([PY, "-c", script, str(tmp_path)], cwd=REPO)
  try:
    pid = int(wait_for_file(tmp_path / "pid"))
    assert not gone(pid)
    os.kill(supervisor.pid, signal.SIGKILL)
    supervisor.wait()
    wait_gone(pid)
  finally:
    supervisor.kill()
    supervisor.wait()


def test_free_port_and_wait_for_port(tmp_path):
  port = free_port()
  with Supervisor() as sup:
    sup.start(child(tmp_path, "server", """
        import socket, sys, time
        s = socket.socket()
        s.bind(("127.0.0.1", int(sys.argv[1])))
        s.listen()
        time.sleep(60)
        """, port))
    assert wait_for_port("127.0.0.1", port, timeout=10,
                         alive=lambda: sup.wait("server", timeout=0) is None)
    sup.stop(["server"])
  assert not wait_for_port("127.0.0.1", port, timeout=0.2)
  start = time.monotonic()
  assert not wait_for_port("127.0.0.1", port, timeout=10, alive=lambda: False)
  assert time.monotonic() - start < 9  # not the 10 s timeout
