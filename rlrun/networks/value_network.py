"""ValueNetwork: an observation encoder followed by one linear unit, V(s)."""

from typing import Any, Callable, Optional, Sequence, Tuple

import gin
import tensorflow as tf

from rlrun.networks.encoding_network import EncodingNetwork, clone_initializer
from rlrun.networks.network import Network


@gin.configurable(module="networks")
class ValueNetwork(Network):
  """Maps observations [B, ...] (or [B, T, ...]) to state values [B] (or [B, T]).

  Args:
    input_tensor_spec: the observation spec (a single tensor spec).
    fc_layer_params: units of the encoder's Dense layers.
    conv_layer_params: (filters, kernel_size, stride) per encoder Conv2D layer.
    activation_fn: hidden activation.
    kernel_initializer: hidden kernels' initializer (default He truncated normal).
    value_kernel_initializer: the output unit's kernel initializer (default: the
      hidden one, or Keras' default when that is None).
    name: the network's name.
  """

  def __init__(self, input_tensor_spec: Any, fc_layer_params: Optional[Sequence[int]] = (64, 64),
               conv_layer_params: Optional[Sequence[Tuple[int, int, int]]] = None,
               activation_fn: Callable = tf.keras.activations.tanh,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               value_kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               name: str = "ValueNetwork"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self._encoder = EncodingNetwork(input_tensor_spec, conv_layer_params=conv_layer_params,
                                    fc_layer_params=fc_layer_params, activation_fn=activation_fn,
                                    kernel_initializer=kernel_initializer)
    self._value_layer = tf.keras.layers.Dense(
        1, kernel_initializer=clone_initializer(value_kernel_initializer or kernel_initializer)
        or "glorot_uniform")

  @property
  def encoder(self) -> EncodingNetwork:
    return self._encoder

  def call(self, observation, step_type=None, network_state=(), training=False):
    features, network_state = self._encoder(observation, step_type=step_type,
                                            network_state=network_state, training=training)
    return self._value_layer(features, training=training)[..., 0], network_state
