"""`rlrun export`: a saved greedy policy as a .tflite or .onnx file, checked against the
SavedModel by the format's own runtime in a fresh process without TensorFlow or rlrun."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, Optional, TextIO

import numpy as np

from rlrun.commands import policy_loading
from rlrun.commands.output_files import checked_output, write_atomically
from rlrun.errors import UserError
from rlrun.run_dir import RunDirectory

FORMATS = ("tflite", "onnx")
RUNNER = Path(__file__).resolve().parent.parent / "export" / "run_exported.py"
# Continuous actions: |file - SavedModel| <= tolerance x max(1, the largest |action|). Float32
# kernels sum in different orders: ONNX Runtime stayed within 5.5e-6 on every agent here;
# TFLite's kernels differed by 8.1e-6 (TD3 Pendulum, bound 2) and 1.1e-5 (SAC Minitaur, bound 1).
CONTINUOUS_TOLERANCE = {"onnx": 1e-5, "tflite": 1e-4}
MAX_SAMPLES = 100_000
# The runtime runs the file on batches of these sizes in turn: one, an odd one, a large one.
CHECK_BATCHES = "1,7,100"
RUNTIMES = {"onnx": ("onnxruntime", "onnxruntime==1.20.1"),
            "tflite": ("ai-edge-litert or tflite-runtime", "tflite-runtime==2.14.0")}


class VerificationFailed(Exception):
  """The exported file does not reproduce the SavedModel's actions."""


def export(root_dir: Optional[str], policy: Optional[str], step: Optional[str], fmt: str,
           output: Optional[str], verify: bool = True, runtime_python: Optional[str] = None,
           samples: int = 1000, seed: int = 0, out: Optional[TextIO] = None) -> int:
  out = out or sys.stdout
  if fmt not in FORMATS:
    raise UserError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
  if not 1 <= samples <= MAX_SAMPLES:
    raise UserError(f"--samples must be in [1, {MAX_SAMPLES}], got {samples}")
  if root_dir and policy:
    raise UserError("--root-dir and --policy both name a policy; pass one of them")
  path = policy_loading.policy_path(root_dir, policy, step=step)
  if output is None and not root_dir:
    raise UserError(f"pass --output FILE.{fmt} (or --root-dir to write into its exports/)")
  if output is not None:
    _refuse_into_policy(checked_output("--output", output, (f".{fmt}",), "policy"), path)
  python = _runtime_python(runtime_python) if verify else None
  if python is not None:
    _probe_runtime(python, fmt)
  from rlrun.export import converters
  from rlrun.export.greedy_function import GreedyFunction
  with _terminate_as_interrupt():
    function = GreedyFunction(path)
    train_step = function.train_step
    if output is None:
      stem = path.name if train_step is None else f"{path.name}-step{train_step}"
      name = f"{stem}.{fmt}"
      output = str(RunDirectory(root_dir).path("exports", name))
    target = checked_output("--output", output, (f".{fmt}",), "policy")
    _refuse_into_policy(target, path)
    data = (converters.to_tflite(function) if fmt == "tflite"
            else converters.to_onnx(function).SerializeToString())
    report = "not verified (--no-verify)"
    if python is not None:
      with tempfile.TemporaryDirectory(prefix="rlrun-export-") as scratch:
        model = Path(scratch) / f"policy.{fmt}"
        model.write_bytes(data)
        report = _verify(function, model, fmt, python, samples, seed, Path(scratch))
    write_atomically(target, lambda partial: partial.write_bytes(data))
  out.write(f"exported {path} (train step {train_step}) to {target} ({fmt}, "
            f"{len(data) / 1024:.1f} KiB)\n{report}\n")
  return 0


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
  """SIGTERM stops the export as Ctrl-C does: scratch and partial files are removed."""
  def interrupt(signum, frame):
    del signum, frame
    raise KeyboardInterrupt
  try:
    previous = signal.signal(signal.SIGTERM, interrupt)
  except ValueError:  # not the main thread
    yield
    return
  try:
    yield
  finally:
    signal.signal(signal.SIGTERM, previous)


def _refuse_into_policy(target: Path, policy: Path) -> None:
  """Refuses an export into the policy it reads (a run's own places are refused by
  output_files.checked_output, wherever the policy lives)."""
  place, where = policy.resolve(), target.resolve()
  if where == place or place in where.parents:
    raise UserError(f"--output {target} is inside {place}, which rlrun writes; write the "
                    "export elsewhere (default: the run's exports/)")


def _runtime_python(runtime_python: Optional[str]) -> str:
  if runtime_python is None:
    return sys.executable
  found = shutil.which(os.path.expanduser(runtime_python))
  if found is None:
    raise UserError(f"--runtime-python {runtime_python}: no such executable; pass a Python "
                    "that has the runtime installed, e.g. /path/to/venv/bin/python")
  return found


def _run_runtime(python: str, timeout: float, *args: str) -> subprocess.CompletedProcess:
  env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
  try:
    return subprocess.run([python, "-I", str(RUNNER), *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
  except subprocess.TimeoutExpired:
    raise VerificationFailed(f"{python} did not finish running the check in {timeout:.0f} s") \
        from None
  except OSError as e:
    raise UserError(f"cannot run {python}: {e.strerror or e}; pass another "
                    "--runtime-python") from None


def _last_json(text: str) -> Optional[dict]:
  lines = [line for line in text.splitlines() if line.strip()]
  try:
    found = json.loads(lines[-1]) if lines else None
  except ValueError:
    return None
  return found if isinstance(found, dict) else None


def _probe_runtime(python: str, fmt: str) -> None:
  result = _run_runtime(python, 120, "--format", fmt, "--probe")
  facts = _last_json(result.stdout)
  runtime, pinned = RUNTIMES[fmt]
  if result.returncode == 3:  # run_exported.MISSING_RUNTIME
    how = ("pip install 'rlrun[export]'" if python == sys.executable else
           f"{python} -m pip install {pinned}")
    raise UserError(f"checking a .{fmt} export needs {runtime} in {python}: {how} (or "
                    "--no-verify)")
  if result.returncode != 0 or not facts or not facts.get("ok"):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    raise UserError(f"--runtime-python {python} cannot run the check "
                    f"({lines[-1] if lines else 'exit ' + str(result.returncode)}); pass a "
                    "Python 3 with numpy and the runtime")


def _verify(function, model: Path, fmt: str, python: str, samples: int, seed: int,
            scratch: Path) -> str:
  observations = sample_observations(function, samples, seed)
  expected = function(observations)
  for name, want in expected.items():
    if np.issubdtype(want.dtype, np.floating) and not np.all(np.isfinite(want)):
      raise VerificationFailed(f"the SavedModel's {name} is not finite for some sampled "
                               "observations; nothing to compare the export with")
  np.savez(scratch / "inputs.npz", **observations)
  # A hang guard, scaled with the work (a CartPole policy checks 1000 samples in ~0.1 s).
  result = _run_runtime(python, 300 + samples * 0.1, "--format", fmt, "--model", str(model),
                        "--inputs", str(scratch / "inputs.npz"),
                        "--outputs", str(scratch / "outputs.npz"), "--batches", CHECK_BATCHES)
  facts = _last_json(result.stdout)
  if result.returncode != 0 or not facts or "runtime" not in facts:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    raise VerificationFailed(f"the {fmt} runtime could not run the export: "
                             f"{lines[-1] if lines else 'exit ' + str(result.returncode)}")
  imported = [m for m in ("tensorflow", "rlrun") if facts.get(f"{m}_imported")]
  if imported:
    raise VerificationFailed(f"the check's process imported {' and '.join(imported)}; pass a "
                             "--runtime-python whose runtime does not")
  with np.load(scratch / "outputs.npz") as data:
    got = {name: data[name] for name in data.files}
  parts = [_compare(name, want, got.get(name), samples, CONTINUOUS_TOLERANCE[fmt])
           for name, want in expected.items()]
  return (f"verified with {facts['runtime']} in a fresh process without TensorFlow or rlrun: "
          f"{samples} observations sampled from the observation spec (seed {seed}), in "
          f"batches of {CHECK_BATCHES.replace(',', ', ')}; {'; '.join(parts)}")


def _compare(name: str, want: np.ndarray, have: Optional[np.ndarray], samples: int,
             relative_tolerance: float) -> str:
  if have is None or have.shape != want.shape or have.dtype != want.dtype:
    found = "missing" if have is None else f"{have.dtype} {have.shape}"
    raise VerificationFailed(f"the file's output {name} is {found}, the SavedModel's "
                             f"{want.dtype} {want.shape}")
  if np.issubdtype(want.dtype, np.floating):
    worst = float(np.max(np.abs(have.astype(np.float64) - want))) if want.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    tolerance = relative_tolerance * scale
    if not worst <= tolerance:
      raise VerificationFailed(f"{name} differs from the SavedModel's by up to {worst:.3g} "
                               f"(tolerance {tolerance:.3g})")
    return f"{name} within {worst:.2g} of the SavedModel's (tolerance {tolerance:.2g})"
  wrong = int(np.sum(np.any((have != want).reshape(len(want), -1), axis=1)))
  if wrong:
    raise VerificationFailed(f"{name} differs from the SavedModel's on {wrong} of {samples} "
                             "observations")
  return f"{name} identical to the SavedModel's"


def sample_observations(function, samples: int, seed: int) -> Dict[str, np.ndarray]:
  """`samples` observations from the policy's observation spec, by input name."""
  from rlrun.policies.policy_saver import named_leaves
  from rlrun.specs import array_spec, spec_codec
  try:
    observation_spec = spec_codec.decode(function.metadata["time_step_spec"]).observation
  except (KeyError, TypeError, ValueError, AttributeError) as e:
    raise UserError(f"{function.policy_dir}: the observation spec in its metadata is "
                    f"unreadable ({e}); export the policy again with rlrun train") from None
  drawn = dict(named_leaves("observation", array_spec.sample_spec_nest(
      observation_spec, np.random.default_rng(seed), outer_dims=(samples,))))
  for name, spec in function.input_specs.items():
    value = drawn.get(name)
    if (value is None or value.dtype != spec.dtype.as_numpy_dtype or
        not spec.shape[1:].is_compatible_with(value.shape[1:])):
      raise UserError(f"{function.policy_dir}: its metadata's observation spec does not match "
                      f"the SavedModel's input {name}; export the policy again with rlrun train")
  return drawn
