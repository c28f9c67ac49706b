"""The converters name the ops a format lacks, and ONNX gets TF's BroadcastArgs."""

import types

import numpy as np
import pytest
import tensorflow as tf

from rlrun.errors import UserError
from rlrun.export import converters


def function_of(op):
  """The shape of GreedyFunction the converters read, around `op(observation)`."""
  specs = {"observation": tf.TensorSpec([None, 3], tf.float32, name="observation")}
  function = tf.function(lambda inputs: {"action": op(inputs["observation"])},
                         input_signature=[specs], autograph=False)
  return types.SimpleNamespace(function=function, concrete=function.get_concrete_function(),
                               saved=tf.Module(), input_specs=specs, output_names=["action"])


def determinant(x):
  return tf.linalg.det(tf.reshape(x[:, :1], [-1, 1, 1]))


def test_ops_a_format_cannot_express_are_named():
  with pytest.raises(UserError, match="ops TFLite cannot express: MatrixDeterminant"):
    converters.to_tflite(function_of(determinant))
  with pytest.raises(UserError, match="ops ONNX cannot express: Igamma"):
    converters.to_onnx(function_of(lambda x: tf.math.igamma(x, x)))


def test_broadcast_args_runs_in_onnxruntime_and_names_are_kept():
  import onnxruntime

  def op(x):  # the batch shape a distribution computes, then used to shape its mode
    shape = tf.raw_ops.BroadcastArgs(s0=tf.shape(x), s1=tf.constant([1, 3]))
    return tf.zeros(shape) + 2.0 * x

  model = converters.to_onnx(function_of(op))
  assert "BroadcastArgs" not in {node.op_type for node in model.graph.node}
  assert [i.name for i in model.graph.input] == ["observation"]
  assert [o.name for o in model.graph.output] == ["action"]
  session = onnxruntime.InferenceSession(model.SerializeToString())
  x = np.arange(12, dtype=np.float32).reshape(4, 3)
  np.testing.assert_array_equal(session.run(["action"], {"observation": x})[0], 2.0 * x)


def test_unsupported_tflite_ops_are_read_from_either_error_form():
  assert converters.unsupported_tflite_ops(
      "error: 'tf.BesselI0e' op is neither a custom op nor a flex op") == ["BesselI0e"]
  assert converters.unsupported_tflite_ops(
      "Some ops are not supported by the native TFLite runtime\n\ttf.Igamma(tensor<?x3xf32>)"
      "\n\ttf.MatrixDeterminant(tensor<?x1x1xf32>)") == ["Igamma", "MatrixDeterminant"]
  assert converters.unsupported_tflite_ops("failed to convert value attribute") == []
