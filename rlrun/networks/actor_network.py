"""ActorNetwork: a deterministic policy network, observation -> one continuous action."""

from typing import Any, Callable, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf

from rlrun.networks.critic_network import InitializerLike, fresh_initializer
from rlrun.networks.encoding_network import EncodingNetwork
from rlrun.networks.network import Network
from rlrun.specs import tensor_spec


def action_bounds(action_spec: Any, owner: str):
  """(scale, shift) mapping [-1, 1] onto a bounded float spec's [minimum, maximum]."""
  spec = tensor_spec.from_spec(action_spec)
  if not (tensor_spec.is_bounded(spec) and tensor_spec.is_continuous(spec)):
    raise ValueError(f"{owner} needs a bounded float action spec, got {spec}")
  low = np.broadcast_to(np.asarray(spec.minimum, np.float32), tuple(spec.shape))
  high = np.broadcast_to(np.asarray(spec.maximum, np.float32), tuple(spec.shape))
  if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
    raise ValueError(f"{owner}: the action bounds must be finite with maximum > minimum, got "
                     f"{spec.minimum} and {spec.maximum}")
  return (high - low) / 2.0, (high + low) / 2.0


@gin.configurable(module="networks")
class ActorNetwork(Network):
  """Dense layers, then one tanh layer scaled onto the action bounds.

  Called as `net(observation)`, it returns `(action, network_state)` with actions of
  the spec's shape, inside its bounds.

  Args:
    input_tensor_spec: the observation spec (one tensor).
    output_tensor_spec: a bounded float action spec of shape [dim] or [].
    fc_layer_params: units of the hidden Dense layers.
    activation_fn: the hidden activation.
    kernel_initializer: hidden kernels' initializer (default He truncated normal).
    last_kernel_initializer: the action layer's kernel initializer.
    name: the network's name.
  """

  def __init__(self, input_tensor_spec: Any, output_tensor_spec: Any,
               fc_layer_params: Optional[Sequence[int]] = (400, 300),
               activation_fn: Callable = tf.keras.activations.relu,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               last_kernel_initializer: InitializerLike = "glorot_uniform",
               name: str = "ActorNetwork"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self._output_tensor_spec = tensor_spec.from_spec(output_tensor_spec)
    flat = tf.nest.flatten(self._output_tensor_spec)
    if len(flat) != 1 or flat[0].shape.rank not in (0, 1):
      raise ValueError(f"{name} supports one action spec of shape [dim] or [], got "
                       f"{output_tensor_spec}")
    self._action_spec = flat[0]
    scale, shift = action_bounds(self._action_spec, name)
    self._scale = tf.constant(scale.reshape(-1), tf.float32)
    self._shift = tf.constant(shift.reshape(-1), tf.float32)
    self._encoder = EncodingNetwork(input_tensor_spec, fc_layer_params=fc_layer_params,
                                    activation_fn=activation_fn,
                                    kernel_initializer=kernel_initializer)
    self._action_layer = tf.keras.layers.Dense(
        int(np.prod(self._action_spec.shape.as_list())), activation=tf.keras.activations.tanh,
        kernel_initializer=fresh_initializer(last_kernel_initializer), name="action")

  @property
  def encoder(self) -> EncodingNetwork:
    return self._encoder

  @property
  def action_layer(self) -> tf.keras.layers.Dense:
    return self._action_layer

  @property
  def output_tensor_spec(self) -> Any:
    return self._output_tensor_spec

  def call(self, observation, step_type=None, network_state=(), training=False):
    features, network_state = self._encoder(observation, step_type=step_type,
                                            network_state=network_state, training=training)
    action = self._action_layer(features, training=training) * self._scale + self._shift
    shape = tf.concat([tf.shape(action)[:-1], self._action_spec.shape], 0)
    action = tf.reshape(action, shape)
    return tf.nest.pack_sequence_as(self._output_tensor_spec, [action]), network_state
