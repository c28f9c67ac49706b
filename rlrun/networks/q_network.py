"""QNetwork: one Q-value per discrete action, from an observation."""

from typing import Any, Callable, Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf

from rlrun.networks.encoding_network import EncodingNetwork, clone_initializer
from rlrun.networks.fan_in import FanInDense
from rlrun.networks.network import Network
from rlrun.specs import tensor_spec


def num_actions_of(action_spec: Any) -> int:
  """The number of discrete actions of a scalar bounded integer action spec."""
  flat = tf.nest.flatten(action_spec)
  if len(flat) != 1 or not tensor_spec.is_discrete(flat[0]) or tuple(flat[0].shape) not in ((), (1,)):
    raise ValueError(f"a Q-network needs a single scalar integer action spec, got {action_spec}")
  spec = flat[0]
  if np.ndim(spec.minimum) or np.ndim(spec.maximum):
    lo, hi = np.unique(spec.minimum), np.unique(spec.maximum)
    if lo.size != 1 or hi.size != 1:
      raise ValueError(f"action bounds must be the same for every dimension, got {spec}")
  return int(np.max(spec.maximum) - np.min(spec.minimum) + 1)


@gin.configurable(module="networks")
class QNetwork(Network):
  """An EncodingNetwork followed by a linear layer with one output per action.

  Args:
    input_tensor_spec: the observation spec.
    action_spec: a scalar bounded integer spec; its range sets the number of outputs.
    conv_layer_params: (filters, kernel, stride) per conv layer.
    fc_layer_params: units of the hidden Dense layers.
    activation_fn: hidden activation.
    kernel_initializer: hidden kernel initializer (default He truncated normal).
    bias_initializer: hidden bias initializer (default zeros).
    last_kernel_initializer: initializer of the Q-value layer's kernel
      (default uniform in [-0.03, 0.03]).
    last_bias_initializer: initializer of the Q-value layer's bias (default -0.2).
    input_scale: multiplies observations once cast to float32 (1/255 for uint8 pixels).
    channels_first: observations are [channels, height, width] (Atari's stacked frames),
      transposed for the conv layers.
    name: the network's name.
  """

  def __init__(self, input_tensor_spec: Any, action_spec: Any,
               conv_layer_params: Optional[Sequence[Tuple[int, int, int]]] = None,
               fc_layer_params: Sequence[int] = (75, 40),
               activation_fn: Callable = tf.keras.activations.relu,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               bias_initializer: Optional[tf.keras.initializers.Initializer] = None,
               last_kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               last_bias_initializer: Optional[tf.keras.initializers.Initializer] = None,
               input_scale: Optional[float] = None, channels_first: bool = False,
               name: str = "QNetwork"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self._num_actions = num_actions_of(action_spec)
    self._encoder = EncodingNetwork(input_tensor_spec, conv_layer_params=conv_layer_params,
                                    fc_layer_params=fc_layer_params, activation_fn=activation_fn,
                                    kernel_initializer=kernel_initializer,
                                    bias_initializer=bias_initializer,
                                    input_scale=input_scale, channels_first=channels_first)
    self._q_value_layer = FanInDense(
        self._num_actions, activation=None,
        kernel_initializer=clone_initializer(last_kernel_initializer) or
        tf.keras.initializers.RandomUniform(minval=-0.03, maxval=0.03),
        bias_initializer=clone_initializer(last_bias_initializer) or
        tf.keras.initializers.Constant(-0.2))

  @property
  def num_actions(self) -> int:
    return self._num_actions

  @property
  def input_scale(self) -> Optional[float]:
    return self._encoder.input_scale

  @property
  def channels_first(self) -> bool:
    return self._encoder.channels_first

  @property
  def layers_in_order(self):
    """Every layer an input goes through, in order (used by the numpy mirror)."""
    return self._encoder.encoding_layers + [self._q_value_layer]

  def call(self, observation, step_type=None, network_state=(), training=False):
    features, network_state = self._encoder(observation, step_type=step_type,
                                            network_state=network_state, training=training)
    return self._q_value_layer(features, training=training), network_state
