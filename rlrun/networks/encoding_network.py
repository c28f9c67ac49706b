"""EncodingNetwork: optional conv layers, flatten, then fully connected layers."""

from typing import Any, Callable, Optional, Sequence, Tuple

import gin
import tensorflow as tf

from rlrun.networks.fan_in import FanInDense
from rlrun.networks.network import Network


def default_kernel_initializer() -> tf.keras.initializers.Initializer:
  return tf.keras.initializers.VarianceScaling(scale=2.0, mode="fan_in",
                                               distribution="truncated_normal")


def clone_initializer(initializer: Optional[tf.keras.initializers.Initializer]):
  """A fresh copy, so that no initializer instance is shared between layers or networks."""
  if initializer is None:
    return None
  return type(initializer).from_config(initializer.get_config())


@gin.configurable(module="networks")
class EncodingNetwork(Network):
  """Encodes an observation into a feature vector.

  Args:
    input_tensor_spec: spec of a single tensor input (nests: combine them first).
    conv_layer_params: (filters, kernel_size, stride) per Conv2D layer.
    fc_layer_params: units per Dense layer.
    activation_fn: activation of every hidden layer.
    kernel_initializer: initializer of hidden kernels (default: He truncated normal).
    bias_initializer: initializer of the Dense layers' biases (default: zeros; conv biases
      stay zeros). networks.FanInUniform() gives each its own layer's fan-in.
    input_scale: multiplies the observation after the cast to `dtype` (1/255 for uint8
      pixels, so the replay keeps bytes and the network sees [0, 1]); None: no scaling.
    channels_first: observations are [channels, height, width] (Atari's stacked frames);
      they are transposed to channels-last for the conv layers.
    batch_squash: unused outer dims beyond the batch are folded in (time-major inputs).
    dtype: computation dtype.
    name: the network's name.
  """

  def __init__(self, input_tensor_spec: Any,
               conv_layer_params: Optional[Sequence[Tuple[int, int, int]]] = None,
               fc_layer_params: Optional[Sequence[int]] = None,
               activation_fn: Callable = tf.keras.activations.relu,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               bias_initializer: Optional[tf.keras.initializers.Initializer] = None,
               dtype: tf.DType = tf.float32, input_scale: Optional[float] = None,
               channels_first: bool = False, name: str = "EncodingNetwork"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    if len(tf.nest.flatten(self.input_tensor_spec)) != 1:
      raise ValueError(f"{name}: expected a single input tensor spec, got "
                       f"{self.input_tensor_spec}; combine nested inputs before encoding")
    make_init = lambda: clone_initializer(kernel_initializer) or default_kernel_initializer()
    self._encoding_layers = []
    for filters, kernel_size, strides in conv_layer_params or ():
      self._encoding_layers.append(tf.keras.layers.Conv2D(
          filters, kernel_size, strides=strides, activation=activation_fn,
          kernel_initializer=make_init(), dtype=dtype))
    self._encoding_layers.append(tf.keras.layers.Flatten())
    for units in fc_layer_params or ():
      self._encoding_layers.append(FanInDense(
          units, activation=activation_fn, kernel_initializer=make_init(),
          bias_initializer=clone_initializer(bias_initializer) or "zeros", dtype=dtype))
    self._cast_dtype = dtype
    self._input_scale = input_scale
    if channels_first and tf.nest.flatten(self.input_tensor_spec)[0].shape.rank != 3:
      raise ValueError(f"{name}: channels_first needs [channels, height, width] observations, "
                       f"got {self.input_tensor_spec}")
    self._channels_first = channels_first

  @property
  def input_scale(self) -> Optional[float]:
    return self._input_scale

  @property
  def channels_first(self) -> bool:
    return self._channels_first

  @property
  def encoding_layers(self):
    return list(self._encoding_layers)

  def call(self, observation, step_type=None, network_state=(), training=False):
    del step_type
    spec = tf.nest.flatten(self.input_tensor_spec)[0]
    x = tf.nest.flatten(observation)[0]
    # Fold any outer dims beyond the batch (e.g. [B, T, ...]) into the batch.
    outer_shape = tf.shape(x)[:tf.rank(x) - spec.shape.rank]
    x = tf.reshape(x, tf.concat([[-1], tf.shape(x)[tf.rank(x) - spec.shape.rank:]], 0))
    if self._channels_first:
      x = tf.transpose(x, [0, 2, 3, 1])  # before the cast: 1 byte per pixel to move
    x = tf.cast(x, self._cast_dtype)
    if self._input_scale is not None:
      x = x * tf.constant(self._input_scale, self._cast_dtype)
    if spec.shape.rank == 0:
      x = x[:, None]
    for layer in self._encoding_layers:
      x = layer(x, training=training)
    x = tf.reshape(x, tf.concat([outer_shape, tf.shape(x)[1:]], 0))
    return x, network_state
