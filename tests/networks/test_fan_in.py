"""FanInUniform and FanInDense: PyTorch's default ranges for kernels and biases."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.networks.encoding_network import EncodingNetwork
from rlrun.networks.fan_in import FanInDense, FanInUniform
from rlrun.networks.q_network import QNetwork
from rlrun.specs import tensor_spec

OBS_SPEC = tf.TensorSpec((4,), tf.float32, "obs")
# 100 actions: enough Q-value biases to see their range.
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 99, "action")


@pytest.fixture(autouse=True)
def _seeded():
  """Fixed draws: the range checks below then cannot fail by chance."""
  tf.keras.utils.set_random_seed(0)


def _spans(values, limit):
  """Inside [-limit, limit] and reaching past 80% of it on both sides (a narrower range
  would not)."""
  values = np.asarray(values)
  return (np.all(np.abs(values) <= limit) and values.max() > 0.8 * limit and
          values.min() < -0.8 * limit)


def test_kernel_range_follows_its_fan_in():
  kernel = FanInUniform()((100, 300)).numpy()
  assert _spans(kernel, 0.1)
  assert _spans(FanInUniform(scale=2.0)((25, 400)), 0.4)


def test_bias_without_fan_in_is_refused_with_the_fix():
  with pytest.raises(ValueError, match="has no fan-in.*QNetwork and EncodingNetwork"):
    FanInUniform()((50,))
  assert _spans(FanInUniform(fan_in=4)((400,)), 0.5)


def test_bad_scale_or_fan_in_is_refused():
  with pytest.raises(ValueError, match="scale must be > 0"):
    FanInUniform(scale=0.0)
  with pytest.raises(ValueError, match="fan_in must be > 0"):
    FanInUniform(fan_in=0)


def test_dense_gives_its_bias_its_input_width():
  layer = FanInDense(300, kernel_initializer=FanInUniform(), bias_initializer=FanInUniform())
  layer(tf.zeros((1, 16)))
  assert _spans(layer.bias, 0.25) and _spans(layer.kernel, 0.25)


def test_q_network_hidden_and_last_layers_take_their_own_fan_in():
  # PyTorch's defaults for Linear(4, 100) -> Linear(100, 50) -> Linear(50, 100).
  init = FanInUniform()
  net = QNetwork(OBS_SPEC, ACTION_SPEC, fc_layer_params=(100, 50), kernel_initializer=init,
                 bias_initializer=init, last_kernel_initializer=init,
                 last_bias_initializer=init)
  net.create_variables()
  first, second, last = [layer for layer in net.layers_in_order if layer.weights]
  assert _spans(first.bias, 0.5) and _spans(first.kernel, 0.5)
  assert _spans(second.bias, 0.1) and _spans(second.kernel, 0.1)
  assert _spans(last.bias, 50 ** -0.5) and _spans(last.kernel, 50 ** -0.5)


def test_hidden_biases_stay_zero_by_default():
  net = EncodingNetwork(OBS_SPEC, fc_layer_params=(8, 5))
  net.create_variables()
  assert all(np.all(layer.bias.numpy() == 0) for layer in net.encoding_layers if layer.weights)
