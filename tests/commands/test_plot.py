"""`rlrun plot` on synthetic run dirs and on a real run."""

import csv
import json
import struct
import subprocess
import sys
from pathlib import Path

from test_user_errors import run_in_process

from run_dirs import make_run


def png_size(path: Path):
  data = path.read_bytes()
  assert data[:8] == b"\x89PNG\r\n\x1a\n"
  return struct.unpack(">II", data[16:24])


def _study(root: Path) -> Path:
  for seed, returns in enumerate([{0: 10.0, 50: 100.0}, {0: 20.0, 50: 300.0}]):
    make_run(root / f"c-seed{seed}", "c.gin", seed, returns, env_steps_per_step=2)
  make_run(root / "d", "d.gin", 0, {0: 1.0, 50: 2.0}, env_steps_per_step=2)
  return root


def test_plot_writes_the_figure_and_the_numbers(capsys, tmp_path):
  study = _study(tmp_path / "study")
  code, _ = run_in_process(capsys, "plot", str(study), "--output", str(tmp_path / "out/c.png"),
                           "--csv", str(tmp_path / "c.csv"), "--aggregate", "mean",
                           "--x", "env_steps")
  assert code == 0
  assert png_size(tmp_path / "out" / "c.png") == (800, 500)
  rows = list(csv.DictReader((tmp_path / "c.csv").open()))
  assert [(r["group"], r["env_steps"], float(r["mean"]), float(r["ci_low"]), float(r["ci_high"]),
           r["runs"]) for r in rows] == [
      ("c.gin", "0", 15.0, 10.0, 20.0, "2"), ("c.gin", "100", 200.0, 100.0, 300.0, "2"),
      ("d.gin", "0", 1.0, 1.0, 1.0, "1"), ("d.gin", "100", 2.0, 2.0, 2.0, "1")]
  assert not list(tmp_path.rglob(".*partial*"))


def test_plot_prints_each_group_and_the_file(tmp_path):
  study = _study(tmp_path / "study")
  figure = tmp_path / "c.svg"
  result = subprocess.run([sys.executable, "-m", "rlrun", "plot", str(study), "-o", str(figure)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)  # hang guard
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines() == [
      "c.gin: 2 runs, AverageReturn at iteration 50: 200.0 [100.0, 300.0] (iqm, 95% CI)",
      "d.gin: 1 run, AverageReturn at iteration 50: 2.0", f"wrote {figure}"]
  assert figure.read_text().lstrip().startswith("<?xml")


def test_plot_never_imports_tensorflow(tmp_path):
  study = _study(tmp_path / "study")
  script = ("import sys\nfrom rlrun import cli\ntry:\n  cli.main(sys.argv[1:])\n"
            "except SystemExit as e:\n  assert e.code == 0, e.code\n"
            "print('tensorflow' in sys.modules, 'matplotlib' in sys.modules)\n")
  result = subprocess.run([sys.executable, "-c", script, "plot", str(study), "-o",
                           str(tmp_path / "p.pdf")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # hang guard
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines()[-1] == "False True"
  assert (tmp_path / "p.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_of_a_real_run_against_each_axis_and_a_train_summary(capsys, smoke_run, tmp_path):
  root, _ = smoke_run
  for x in ("step", "wall_time"):
    code, _ = run_in_process(capsys, "plot", str(root), "-o", str(tmp_path / f"{x}.png"),
                             "--x", x, "--csv", str(tmp_path / f"{x}.csv"))
    assert code == 0
  steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "step.csv").open())]
  results = [json.loads(l) for l in (root / "eval" / "results.jsonl").read_text().splitlines()]
  assert steps == [r["step"] for r in results]
  code, _ = run_in_process(capsys, "plot", str(root), "-o", str(tmp_path / "loss.png"),
                           "--metric", "loss", "--csv", str(tmp_path / "loss.csv"))
  assert code == 0
  losses = list(csv.DictReader((tmp_path / "loss.csv").open()))
  assert losses and all(float(r["iqm"]) >= 0 for r in losses)


def test_env_steps_of_a_real_run_count_the_initial_collection(capsys, smoke_run, tmp_path):
  root, _ = smoke_run
  code, _ = run_in_process(capsys, "plot", str(root), "-o", str(tmp_path / "p.png"), "--x",
                           "env_steps", "--csv", str(tmp_path / "p.csv"))
  assert code == 0
  rows = list(csv.DictReader((tmp_path / "p.csv").open()))
  # dqn_cartpole.gin: 100 random steps, then 1 step per iteration; evaluated every 100.
  assert [int(r["env_steps"]) for r in rows] == [100, 200, 300, 400]
