"""Fault figures: repeated distributed runs (crash count) and children outliving a killed launcher.

1. `--runs` times in a row: `rlrun train --config dqn_cartpole --actors 2` with
   num_iterations=2000 and checkpoint_interval=500 (the repro of the replay-checkpoint
   race), each in a fresh run dir; counts exits other than 0 and "crashed" messages.
2. `--kills` times: the same run is started, killed with SIGKILL once its first checkpoint
   is committed, and the time until the last child process is gone is measured.

Results go to BENCHMARKS.md (section "faults").

Usage:
  python scripts/bench_faults.py                 # 30 runs, 5 kills
  python scripts/bench_faults.py --runs 3 --kills 2
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_md import replace_section

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from rlrun.train.checkpointer import committed_numbers  # noqa: E402  pylint: disable=wrong-import-position

ARGS = ["--config", "dqn_cartpole", "--actors", "2",
        "--gin-param", "train.Experiment.num_iterations=2000",
        "--gin-param", "train.Experiment.checkpoint_interval=500"]


def rlrun(*args):
  return [sys.executable, "-m", "rlrun", "train", *args]


def alive(pid: int) -> bool:
  stat = Path(f"/proc/{pid}/stat")
  try:
    return stat.read_text().split(") ")[-1][0] != "Z"
  except OSError:
    return False


def repeated_runs(count: int, work: Path):
  failures = []
  durations = []
  for i in range(count):
    root = work / f"run{i}"
    started = time.time()
    result = subprocess.run(rlrun(*ARGS, "--root-dir", str(root)), capture_output=True, text=True,
                            timeout=1800, cwd=tempfile.gettempdir())
    durations.append(time.time() - started)
    crashed = "crashed" in result.stdout or result.returncode != 0
    print(f"run {i + 1}/{count}: exit {result.returncode} in {durations[-1]:.0f} s"
          f"{' CRASHED' if crashed else ''}", flush=True)
    if crashed:
      failures.append((i, result.returncode, (result.stdout + result.stderr)[-400:]))
  return failures, durations


def killed_launcher(count: int, work: Path):
  delays = []
  for i in range(count):
    root = work / f"kill{i}"
    launcher = subprocess.Popen(rlrun(*ARGS, "--root-dir", str(root)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    while not committed_numbers(str(root / "checkpoints")):
      if launcher.poll() is not None:
        raise RuntimeError(f"the run ended before its first checkpoint (exit {launcher.returncode})")
      time.sleep(0.1)
    log = (root / "logs" / "launcher.log").read_text()
    children = [int(p) for p in re.findall(r"started \(pid (\d+)", log)]
    killed = time.monotonic()
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait()
    while any(alive(p) for p in children) and time.monotonic() - killed < 60:
      time.sleep(0.01)
    delays.append(time.monotonic() - killed)
    print(f"kill {i + 1}/{count}: {len(children)} children gone {delays[-1]:.2f} s after SIGKILL",
          flush=True)
  return delays


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=30)
  parser.add_argument("--kills", type=int, default=5)
  parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
  options = parser.parse_args()
  with tempfile.TemporaryDirectory() as work:
    failures, durations = repeated_runs(options.runs, Path(work))
    delays = killed_launcher(options.kills, Path(work))
  lines = [
      "## Faults (scripts/bench_faults.py)", "",
      f"- `rlrun train --config dqn_cartpole --actors 2` with num_iterations=2000 and "
      f"checkpoint_interval=500, {options.runs} runs in a row: **{len(failures)} crashed** "
      f"(median run {statistics.median(durations):.0f} s).",
      f"- SIGKILL of the launcher after its first checkpoint, {options.kills} times: the last of "
      f"its 5 children was gone after {statistics.median(delays):.2f} s (median; max "
      f"{max(delays):.2f} s).", ""]
  for i, code, tail in failures:
    lines.append(f"  - run {i + 1}: exit {code}: `{tail.strip().splitlines()[-1]}`")
  replace_section(options.output, "faults", lines)
  print("\n".join(lines))


if __name__ == "__main__":
  main()
