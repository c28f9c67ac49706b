"""Runs an exported policy file with its own runtime: no TensorFlow, no rlrun.

`rlrun export` starts this file as a script in a fresh interpreter (`python -I
run_exported.py ...`), so it imports only numpy and the format's runtime: onnxruntime
for .onnx, ai-edge-litert or tflite-runtime for .tflite. It is also a small example of
calling an exported file from plain Python.

  run_exported.py --format F --probe                 prints the runtime, exit 3 if missing
  run_exported.py --format F --model M --inputs IN.npz --outputs OUT.npz [--batches 1,7,100]

Prints one JSON line: the runtime and whether tensorflow or rlrun were imported.
"""

import argparse
import importlib
import json
import sys

import numpy as np

MISSING_RUNTIME = 3


def load_tflite(path: str):
  try:
    from ai_edge_litert.interpreter import Interpreter
    runtime = "ai-edge-litert"
  except ImportError:
    from tflite_runtime.interpreter import Interpreter
    runtime = "tflite-runtime"
  runner = Interpreter(model_path=path).get_signature_runner()
  return runtime, lambda inputs: runner(**inputs)


def load_onnx(path: str):
  import onnxruntime
  options = onnxruntime.SessionOptions()
  session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
  names = [output.name for output in session.get_outputs()]
  def run(inputs):
    return dict(zip(names, session.run(names, inputs)))
  return "onnxruntime", run


LOADERS = {"tflite": load_tflite, "onnx": load_onnx}


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--format", choices=sorted(LOADERS), required=True)
  parser.add_argument("--probe", action="store_true")
  parser.add_argument("--model")
  parser.add_argument("--inputs")
  parser.add_argument("--outputs")
  parser.add_argument("--batches", default="100",
                      help="Batch sizes used in turn, e.g. 1,7,100.")
  args = parser.parse_args()
  if args.probe:
    try:
      if args.format == "onnx":
        importlib.import_module("onnxruntime")
      else:
        try:
          importlib.import_module("ai_edge_litert.interpreter")
        except ImportError:
          importlib.import_module("tflite_runtime.interpreter")
    except ImportError as e:
      print(json.dumps({"missing": str(e)}))
      return MISSING_RUNTIME
    print(json.dumps({"ok": True}))
    return 0
  runtime, run = LOADERS[args.format](args.model)
  with np.load(args.inputs) as data:
    inputs = {name: data[name] for name in data.files}
  count = len(next(iter(inputs.values())))
  sizes = [int(size) for size in args.batches.split(",")]
  batches, start = [], 0
  while start < count:
    size = sizes[len(batches) % len(sizes)]
    batches.append(run({k: v[start:start + size] for k, v in inputs.items()}))
    start += size
  outputs = {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}
  np.savez(args.outputs, **outputs)
  print(json.dumps({"runtime": runtime, "tensorflow_imported": "tensorflow" in sys.modules,
                    "rlrun_imported": "rlrun" in sys.modules}))
  return 0


if __name__ == "__main__":
  sys.exit(main())
