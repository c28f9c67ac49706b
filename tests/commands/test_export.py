"""`rlrun export`: the file its runtime runs without TensorFlow, and every mistake refused."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import rlrun, snapshot
from test_user_errors import assert_one_line_error, run_in_process


@pytest.fixture(scope="module")
def run_copy(smoke_run, tmp_path_factory):
  """A copy of the smoke run, so the exports written here do not change the shared run."""
  root = tmp_path_factory.mktemp("export") / "dqn"
  shutil.copytree(smoke_run[0], root)
  return root


def _export_in_process(capsys, *args):
  from rlrun import cli
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["export", *args])
  return exit_info.value.code, capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_export_writes_a_file_checked_by_its_runtime_without_tensorflow(run_copy, fmt):
  result = rlrun("export", "--root-dir", str(run_copy), "--format", fmt)
  assert result.returncode == 0, result.stderr[-2000:]
  target = run_copy / "exports" / f"policy-step300.{fmt}"
  assert f"to {target} ({fmt}," in result.stdout
  assert ("in a fresh process without TensorFlow or rlrun: 1000 observations sampled from the "
          "observation spec (seed 0), in batches of 1, 7, 100; action identical to the "
          "SavedModel's") in result.stdout
  assert sorted(p.name for p in target.parent.iterdir()) == sorted(
      p.name for p in target.parent.iterdir() if not p.name.startswith("."))
  assert result.stderr.strip() == ""  # the converters' native chatter is kept off the terminal


def test_the_readme_recipe_runs_the_onnx_file_from_plain_python(capsys, run_copy, tmp_path):
  """What the README shows: onnxruntime alone, on a batch of observations."""
  output = tmp_path / "cartpole.onnx"
  code, out = _export_in_process(capsys, "--root-dir", str(run_copy), "--format", "onnx",
                                 "--output", str(output), "--no-verify")
  assert code == 0 and "not verified (--no-verify)" in out
  script = ("import sys, numpy as np, onnxruntime\n"
            "session = onnxruntime.InferenceSession(sys.argv[1])\n"
            "obs = np.zeros((5, 4), np.float32)\n"
            "action, = session.run(['action'], {'observation': obs})\n"
            "assert 'tensorflow' not in sys.modules\n"
            "print(action.shape, action.dtype)\n")
  ran = subprocess.run([sys.executable, "-I", "-c", script, str(output)], capture_output=True,
                       text=True, timeout=120)  # a hang guard
  assert ran.returncode == 0, ran.stderr
  assert ran.stdout.strip() == "(5,) int64"


@pytest.mark.parametrize("extra, fragments", [
    (["--format", "savedmodel"], ["--format savedmodel", "tflite, onnx"]),
    (["--format", "onnx", "--samples", "0"], ["--samples must be in [1, 100000], got 0"]),
    (["--format", "onnx", "--output", "x.tflite"], ["--output x.tflite: use a .onnx file name"]),
    (["--format", "onnx", "--step", "7"], ["no policy for --step 7", "snapshots kept: 150, 300"]),
    (["--format", "onnx", "--runtime-python", "/no/such/python"],
     ["--runtime-python /no/such/python: no such executable"]),
])
def test_export_mistakes_are_one_line_and_write_nothing(capsys, run_copy, extra, fragments):
  before = snapshot(run_copy)
  code, err = run_in_process(capsys, "export", "--root-dir", str(run_copy), *extra)
  assert_one_line_error(code, err, *fragments)
  assert snapshot(run_copy) == before


def test_export_output_mistakes(capsys, run_copy, tmp_path):
  policy = str(run_copy / "policies" / "policy")
  (tmp_path / "a_file").write_text("")
  for output, fragment in [(None, "pass --output FILE.onnx"),
                           (tmp_path, "is a directory"),
                           (tmp_path / "a_file" / "p.onnx", "a_file: not a directory")]:
    args = ["export", "--policy", policy, "--format", "onnx"]
    args += [] if output is None else ["--output", str(output)]
    assert_one_line_error(*run_in_process(capsys, *args), fragment)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def _python_with_numpy_only(where):
  """A virtualenv whose Python has numpy (linked from this one) and nothing else."""
  import numpy
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                 timeout=120)  # a hang guard
  site = next(where.glob("lib/python*/site-packages"))
  source = Path(numpy.__file__).parent
  (site / "numpy").symlink_to(source)
  if (source.parent / "numpy.libs").exists():
    (site / "numpy.libs").symlink_to(source.parent / "numpy.libs")
  return where / "bin" / "python"


def test_a_runtime_python_without_the_runtime_or_numpy(capsys, run_copy, tmp_path):
  python = _python_with_numpy_only(tmp_path / "numpy-only")
  code, err = run_in_process(capsys, "export", "--root-dir", str(run_copy), "--format", "onnx",
                             "--runtime-python", str(python), "--output", str(tmp_path / "p.onnx"))
  assert_one_line_error(code, err, "needs onnxruntime in", f"{python} -m pip install onnxruntime==")
  code, err = run_in_process(capsys, "export", "--root-dir", str(run_copy), "--format", "onnx",
                             "--runtime-python", "true", "--output", str(tmp_path / "p.onnx"))
  assert_one_line_error(code, err, "cannot run the check")
  assert sorted(p.name for p in tmp_path.iterdir()) == ["numpy-only"]


def test_a_stochastic_policy_or_a_place_rlrun_replaces_is_refused(capsys, run_copy, tmp_path):
  before = snapshot(run_copy)
  policies = run_copy / "policies"
  for args, fragment in [
      (["--policy", str(policies / "collect_policy"), "--output", str(tmp_path / "c.onnx")],
       "acts at random (its graph draws with RandomUniform"),
      (["--root-dir", str(run_copy), "--output", str(policies / "policy" / "p.onnx")],
       "which rlrun writes"),
      (["--root-dir", str(run_copy), "--output", str(run_copy / "checkpoints" / "p.onnx")],
       "which rlrun writes"),
      (["--policy", str(policies / "policy"), "--output",
        str(run_copy / "replay" / "p.onnx")], "which rlrun writes"),
      (["--root-dir", str(run_copy), "--policy", str(policies / "policy")], "pass one of them"),
      (["--root-dir", str(run_copy), "--samples", "100001"], "--samples must be in [1, 100000]")]:
    code, err = run_in_process(capsys, "export", "--format", "onnx", *args)
    assert_one_line_error(code, err, fragment)
  assert snapshot(run_copy) == before
  assert list(tmp_path.iterdir()) == []


def test_an_export_that_does_not_reproduce_the_policy_is_not_written(capsys, monkeypatch,
                                                                     run_copy, tmp_path):
  from rlrun import cli
  from rlrun.export.greedy_function import GreedyFunction
  honest = GreedyFunction.__call__
  monkeypatch.setattr(GreedyFunction, "__call__",
                      lambda self, obs: {k: 1 - v for k, v in honest(self, obs).items()})
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["export", "--root-dir", str(run_copy), "--format", "tflite", "--output",
              str(tmp_path / "out" / "p.tflite")])
  assert exit_info.value.code == 1
  err = capsys.readouterr().err.strip()
  assert err.startswith("rlrun: export not written: action differs from the SavedModel's on ")
  assert list(tmp_path.iterdir()) == []


def test_step_best_names_the_file_after_it(capsys, run_copy):
  code, _ = _export_in_process(capsys, "--root-dir", str(run_copy), "--step", "best",
                               "--format", "tflite", "--no-verify")
  assert code == 0
  step = json.loads((run_copy / "policies" / "best" / "rlrun_policy.json").read_text())[
      "train_step"]
  assert (run_copy / "exports" / f"best-step{step}.tflite").is_file()


def test_a_run_without_a_policy(capsys, tmp_path):
  (tmp_path / "run").mkdir()
  code, err = run_in_process(capsys, "export", "--root-dir", str(tmp_path / "run"),
                             "--format", "tflite")
  assert_one_line_error(code, err, "has no saved policy")
  assert list((tmp_path / "run").iterdir()) == []
