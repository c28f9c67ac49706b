"""GreedyFunction -> TFLite flatbuffer bytes, or an ONNX model; ops a format lacks are named."""

import contextlib
import logging
import os
import re
import sys
import tempfile
from typing import Iterator, List

import tensorflow as tf

from rlrun.errors import UserError

INSTALL = "pip install 'rlrun[export]'"
ONNX_OPSET = 17


def to_tflite(function) -> bytes:
  """Builtin TFLite ops only: a file that needs TensorFlow's own kernels (Flex) would not run
  on the plain TFLite runtimes."""
  converter = tf.lite.TFLiteConverter.from_concrete_functions([function.concrete],
                                                              function.saved)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  with tempfile.TemporaryFile() as log:
    try:
      with native_output_to(log):
        return converter.convert()
    except Exception as e:  # ConverterError, and assorted errors from MLIR passes.
      ops = unsupported_tflite_ops(f"{e}\n{_read(log)}")
      if ops:
        raise UserError(f"the policy uses ops TFLite cannot express: {', '.join(ops)}; try "
                        "--format onnx") from None
      raise UserError(f"TFLite conversion failed: {_first_line(e)}") from None


def unsupported_tflite_ops(message: str) -> List[str]:
  """The TF ops a TFLite converter error names as missing: `'tf.Name' op is neither a custom
  op nor a flex op`, or the `tf.Name(...)` lines under `Some ops are not supported`."""
  ops = set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message))
  listing = False
  for line in message.splitlines():
    if "ops are not supported" in line:
      listing = True
      continue
    found = re.match(r"\s*tf\.([A-Z]\w*)\(", line)
    if listing and found:
      ops.add(found.group(1))
    elif listing and line.strip() and not line.startswith((" ", "\t")):
      listing = False
  return sorted(ops)


def to_onnx(function):
  """An onnx.ModelProto with inputs and outputs named as the function's; refuses models that
  keep TensorFlow ops onnxruntime cannot run."""
  try:
    import tf2onnx
  except ImportError:
    raise UserError(f"--format onnx needs tf2onnx: {INSTALL}") from None
  logging.getLogger("tf2onnx").setLevel(logging.ERROR)
  # Frozen first: constants the SavedModel captured (action bounds, C51's support) would
  # otherwise stay inputs of the ONNX graph.
  from tensorflow.python.framework.convert_to_constants import (
      convert_variables_to_constants_v2)
  frozen = convert_variables_to_constants_v2(function.concrete)
  inputs = [tensor.name for tensor in frozen.inputs]
  outputs = [tensor.name for tensor in frozen.outputs]
  with tempfile.TemporaryFile() as log:
    try:
      with native_output_to(log):
        model, _ = tf2onnx.convert.from_graph_def(
            frozen.graph.as_graph_def(), input_names=inputs, output_names=outputs,
            opset=ONNX_OPSET, custom_op_handlers={"BroadcastArgs": (_broadcast_args, [])})
    except Exception as e:
      raise UserError(f"ONNX conversion failed: {_first_line(e)}") from None
  foreign = sorted({node.op_type for node in model.graph.node if not _runnable(node)})
  if foreign:
    raise UserError(f"the policy uses ops ONNX cannot express: {', '.join(foreign)}; try "
                    "--format tflite")
  # The graph's tensor names, in the flattened (sorted) order of the function's dicts.
  for old, new in [*zip(inputs, sorted(function.input_specs)),
                   *zip(outputs, function.output_names)]:
    _rename(model.graph, old, new)
  return model


@contextlib.contextmanager
def native_output_to(file) -> Iterator[None]:
  """Sends what the converters' C++ code prints (op summaries, MLIR notes) to `file`, kept
  for error messages, instead of the terminal."""
  sys.stdout.flush()
  sys.stderr.flush()
  saved = [os.dup(1), os.dup(2)]
  try:
    os.dup2(file.fileno(), 1)
    os.dup2(file.fileno(), 2)
    yield
  finally:
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for fd in saved:
      os.close(fd)


def _read(file) -> str:
  file.seek(0)
  return file.read().decode(errors="replace")


def _runnable(node) -> bool:
  """Whether onnxruntime has the node's op: tf2onnx leaves ops it cannot convert in place
  under their TensorFlow names."""
  import onnx
  if node.domain in ("", "ai.onnx"):
    return onnx.defs.has(node.op_type)
  return node.domain in ("ai.onnx.ml", "com.microsoft")


def _rename(graph, old: str, new: str) -> None:
  for value in list(graph.input) + list(graph.output) + list(graph.value_info):
    if value.name == old:
      value.name = new
  for node in graph.node:
    node.input[:] = [new if name == old else name for name in node.input]
    node.output[:] = [new if name == old else name for name in node.output]


def _broadcast_args(ctx, node, name, args):
  """TF's BroadcastArgs (the broadcast of two shapes; distributions' batch shapes use it) as
  ONNX: the shape of the sum of two zero tensors of those shapes."""
  del name, args
  from onnx import TensorProto
  zeros = []
  for shape in node.input:
    as_int64 = ctx.make_node("Cast", [shape], attr={"to": TensorProto.INT64}).output[0]
    zeros.append(ctx.make_node("ConstantOfShape", [as_int64]).output[0])
  summed = ctx.make_node("Add", zeros).output[0]
  dtype = ctx.get_dtype(node.output[0])
  node.type = "Shape"
  ctx.replace_inputs(node, [summed])
  if dtype != TensorProto.INT64:
    ctx.set_dtype(node.output[0], TensorProto.INT64)
    cast = ctx.insert_new_node_on_output("Cast", node.output[0], name=node.child_name(),
                                         to=dtype)
    ctx.set_dtype(cast.output[0], dtype)
    ctx.copy_shape(node.output[0], cast.output[0])


def _first_line(error: Exception) -> str:
  lines = [line for line in str(error).splitlines() if line.strip()]
  return lines[0] if lines else type(error).__name__
