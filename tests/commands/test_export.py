"""`rlrun export`: the file its runtime runs without TensorFlow, and every mistake refused."""

import shutil
import subprocess
import sys

import pytest

from cli_helpers import rlrun, snapshot
from test_user_errors import assert_one_line_error, run_in_process


@pytest.fixture(scope="module")
def run_copy(smoke_run, tmp_path_factory):
  """A copy of the smoke run, so the exports written here do not change the shared run."""
  root = tmp_path_factory.mktemp("export") / "dqn"
  shutil.copytree(smoke_run[0], root)
  return root


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_export_writes_a_file_checked_by_its_runtime_without_tensorflow(run_copy, fmt):
  result = rlrun("export", "--root-dir", str(run_copy), "--format", fmt)
  assert result.returncode == 0, result.stderr[-2000:]
  target = run_copy / "exports" / f"policy-step300.{fmt}"
  assert f"to {target} ({fmt}," in result.stdout
  assert ("in a fresh process without TensorFlow or rlrun: 1000 observations sampled from the "
          "observation spec (seed 0), action identical to the SavedModel's") in result.stdout
  assert sorted(p.name for p in target.parent.iterdir()) == sorted(
      p.name for p in target.parent.iterdir() if not p.name.startswith("."))
  assert result.stderr.strip() == ""  # the converters' native chatter is kept off the terminal


def test_the_readme_recipe_runs_the_onnx_file_from_plain_python(run_copy, tmp_path):
  """What the README shows: onnxruntime alone, on a batch of observations."""
  output = tmp_path / "cartpole.onnx"
  result = rlrun("export", "--root-dir", str(run_copy), "--format", "onnx", "--output",
                 str(output), "--no-verify")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "not verified (--no-verify)" in result.stdout
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
    (["--format", "onnx", "--samples", "0"], ["--samples must be >= 1"]),
    (["--format", "onnx", "--output", "x.tflite"], ["a --format onnx file is named *.onnx"]),
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
                           (tmp_path / "a_file" / "p.onnx", "is a file, not a directory")]:
    args = ["export", "--policy", policy, "--format", "onnx"]
    args += [] if output is None else ["--output", str(output)]
    assert_one_line_error(*run_in_process(capsys, *args), fragment)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_missing_runtime_names_the_pip_command(capsys, run_copy, tmp_path):
  # A Python without onnxruntime: a bare virtualenv made for the test.
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")],
                 check=True, timeout=120)  # a hang guard
  code, err = run_in_process(capsys, "export", "--root-dir", str(run_copy), "--format", "onnx",
                             "--runtime-python", str(tmp_path / "bare" / "bin" / "python"),
                             "--output", str(tmp_path / "p.onnx"))
  assert_one_line_error(code, err, "needs onnxruntime", "pip install 'rlrun[export]'")
  assert not (tmp_path / "p.onnx").exists()


def test_a_run_without_a_policy(capsys, tmp_path):
  (tmp_path / "run").mkdir()
  code, err = run_in_process(capsys, "export", "--root-dir", str(tmp_path / "run"),
                             "--format", "tflite")
  assert_one_line_error(code, err, "has no saved policy")
  assert list((tmp_path / "run").iterdir()) == []
