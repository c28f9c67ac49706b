"""`rlrun export`: a saved greedy policy as a .tflite or .onnx file, checked against the
SavedModel by the format's own runtime in a fresh process without TensorFlow or rlrun."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional, TextIO

import numpy as np

from rlrun.commands import policy_loading
from rlrun.errors import UserError
from rlrun.run_dir import RunDirectory

FORMATS = ("tflite", "onnx")
RUNNER = Path(__file__).resolve().parent.parent / "export" / "run_exported.py"
# Continuous actions: |file - SavedModel| <= 1e-5 x max(1, the largest |action|) (float32
# kernels sum in different orders: TD3's (400, 300) actor differed by 8e-6 at bound 2).
CONTINUOUS_TOLERANCE = 1e-5
# A hang guard for the runtime's process; a policy of this size runs in well under a second.
RUNTIME_TIMEOUT_S = 600


def export(root_dir: Optional[str], policy: Optional[str], step: Optional[str], fmt: str,
           output: Optional[str], verify: bool = True, runtime_python: Optional[str] = None,
           samples: int = 1000, seed: int = 0, out: TextIO = sys.stdout) -> int:
  if fmt not in FORMATS:
    raise UserError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
  if samples < 1:
    raise UserError(f"--samples must be >= 1, got {samples}")
  path = policy_loading.policy_path(root_dir, policy, step=step)
  if output is None and not root_dir:
    raise UserError(f"pass --output FILE.{fmt} (or --root-dir to write into its exports/)")
  if output is not None:
    _check_output(Path(output).expanduser(), fmt)
  python = _runtime_python(runtime_python) if verify else None
  if python is not None:
    _probe_runtime(python, fmt)
  from rlrun.export import converters
  from rlrun.export.greedy_function import GreedyFunction
  function = GreedyFunction(path)
  train_step = function.train_step
  if output is None:
    output = str(RunDirectory(root_dir).path("exports", f"{path.name}-step{train_step}.{fmt}"))
  target = Path(output).expanduser()
  _check_output(target, fmt)
  data = (converters.to_tflite(function) if fmt == "tflite"
          else converters.to_onnx(function).SerializeToString())
  scratch = Path(tempfile.mkdtemp(prefix="rlrun-export-"))
  try:
    model = scratch / f"policy.{fmt}"
    model.write_bytes(data)
    report = "not verified (--no-verify)"
    if python is not None:
      report = _verify(function, model, fmt, python, samples, seed, scratch)
    _install(model, target)
  finally:
    shutil.rmtree(scratch, ignore_errors=True)
  out.write(f"exported {path} (train step {train_step}) to {target} ({fmt}, "
            f"{len(data) / 1024:.1f} KiB)\n{report}\n")
  return 0


def _check_output(target: Path, fmt: str) -> None:
  if target.is_dir():
    raise UserError(f"--output {target} is a directory; pass a file name such as "
                    f"{target / ('policy.' + fmt)}")
  if target.suffix.lower() != f".{fmt}":
    raise UserError(f"--output {target}: a --format {fmt} file is named *.{fmt}")
  for parent in target.parents:
    if parent.exists():
      if not parent.is_dir():
        raise UserError(f"--output {target}: {parent} is a file, not a directory")
      if not os.access(parent, os.W_OK):
        raise UserError(f"--output {target}: {parent} is not writable; choose another place")
      break


def _runtime_python(runtime_python: Optional[str]) -> str:
  if runtime_python is None:
    return sys.executable
  found = shutil.which(os.path.expanduser(runtime_python))
  if found is None:
    raise UserError(f"--runtime-python {runtime_python}: no such executable; pass a Python "
                    "that has the runtime installed, e.g. /path/to/venv/bin/python")
  return found


def _run_runtime(python: str, *args: str) -> subprocess.CompletedProcess:
  env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
  return subprocess.run([python, "-I", str(RUNNER), *args], capture_output=True, text=True,
                        env=env, timeout=RUNTIME_TIMEOUT_S, check=False)


def _probe_runtime(python: str, fmt: str) -> None:
  try:
    result = _run_runtime(python, "--format", fmt, "--probe")
  except OSError as e:
    raise UserError(f"cannot run {python}: {e.strerror or e}") from None
  if result.returncode != 0:
    runtime = "onnxruntime" if fmt == "onnx" else "ai-edge-litert or tflite-runtime"
    raise UserError(f"verifying a .{fmt} export needs {runtime} in {python}: pip install "
                    "'rlrun[export]' (or --runtime-python PYTHON, or --no-verify)")


def _verify(function, model: Path, fmt: str, python: str, samples: int, seed: int,
            scratch: Path) -> str:
  observations = sample_observations(function, samples, seed)
  expected = function(observations)
  np.savez(scratch / "inputs.npz", **observations)
  result = _run_runtime(python, "--format", fmt, "--model", str(model),
                        "--inputs", str(scratch / "inputs.npz"),
                        "--outputs", str(scratch / "outputs.npz"))
  if result.returncode != 0:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    raise VerificationFailed(f"the {fmt} runtime could not run the export: "
                             f"{lines[-1] if lines else 'exit ' + str(result.returncode)}")
  facts = json.loads(result.stdout.strip().splitlines()[-1])
  with np.load(scratch / "outputs.npz") as data:
    got = {name: data[name] for name in data.files}
  parts = []
  for name, want in expected.items():
    have = got.get(name)
    if have is None or have.shape != want.shape:
      raise VerificationFailed(f"the {fmt} file's output {name} is "
                               f"{'missing' if have is None else have.shape}, expected "
                               f"{want.shape}")
    if np.issubdtype(want.dtype, np.floating):
      worst = float(np.max(np.abs(have.astype(np.float64) - want))) if want.size else 0.0
      scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
      tolerance = CONTINUOUS_TOLERANCE * scale
      if not worst <= tolerance:
        raise VerificationFailed(f"{name} differs from the SavedModel's by up to {worst:.3g} "
                                 f"(tolerance {tolerance:.3g})")
      parts.append(f"{name} within {worst:.2g} of the SavedModel's (tolerance {tolerance:.2g})")
    else:
      wrong = int(np.sum(np.any((have != want).reshape(len(want), -1), axis=1)))
      if wrong:
        raise VerificationFailed(f"{name} differs from the SavedModel's on {wrong} of "
                                 f"{samples} observations")
      parts.append(f"{name} identical to the SavedModel's")
  imported = [m for m in ("tensorflow", "rlrun") if facts.get(f"{m}_imported")]
  process = ("a fresh process that imported " + " and ".join(imported) if imported else
             "a fresh process without TensorFlow or rlrun")
  return (f"verified with {facts['runtime']} in {process}: {samples} observations sampled "
          f"from the observation spec (seed {seed}), {'; '.join(parts)}")


class VerificationFailed(Exception):
  """The exported file does not reproduce the SavedModel's actions."""


def sample_observations(function, samples: int, seed: int) -> Dict[str, np.ndarray]:
  """`samples` observations from the policy's observation spec, by input name."""
  from rlrun.policies.policy_saver import named_leaves
  from rlrun.specs import array_spec, spec_codec
  spec = function.metadata.get("time_step_spec")
  rng = np.random.default_rng(seed)
  if spec is not None:
    observation_spec = spec_codec.decode(spec).observation
    drawn = array_spec.sample_spec_nest(observation_spec, rng, outer_dims=(samples,))
    return dict(named_leaves("observation", drawn))
  return {name: array_spec.sample_spec_nest(
      array_spec.ArraySpec(tuple(s.shape[1:]), s.dtype.as_numpy_dtype), rng, (samples,))
          for name, s in function.input_specs.items()}


def _install(model: Path, target: Path) -> None:
  """Moves the verified file into place atomically (a partial file is never at `target`)."""
  target.parent.mkdir(parents=True, exist_ok=True)
  staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
  try:
    shutil.copyfile(model, staging)
    os.replace(staging, target)
  finally:
    staging.unlink(missing_ok=True)
