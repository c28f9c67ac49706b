"""CriticNetwork: a Q-value Q(s, a) from an (observation, action) pair."""

from typing import Any, Callable, Optional, Sequence, Union

import gin
import numpy as np
import tensorflow as tf

from rlrun.networks.encoding_network import clone_initializer
from rlrun.networks.network import Network

InitializerLike = Union[str, tf.keras.initializers.Initializer, None]


def fresh_initializer(initializer: InitializerLike) -> InitializerLike:
  """An initializer no other layer shares: names are resolved per layer by Keras already."""
  if isinstance(initializer, tf.keras.initializers.Initializer):
    return clone_initializer(initializer)
  return initializer


def _dense_stack(units: Optional[Sequence[int]], activation_fn: Callable,
                 kernel_initializer: InitializerLike, name: str) -> list:
  return [tf.keras.layers.Dense(n, activation=activation_fn,
                                kernel_initializer=fresh_initializer(kernel_initializer),
                                name=f"{name}_{i}")
          for i, n in enumerate(units or ())]


@gin.configurable(module="networks")
class CriticNetwork(Network):
  """Observation and action through their own Dense layers, concatenated, then joint layers.

  Called as `net((observation, action))`, it returns Q-values of shape [B] (or [B, T]
  for time-major inputs [B, T, ...]: any outer dims beyond the spec are kept).
  Observations and actions are flattened per sample, so they must be single tensors.

  Args:
    input_tensor_spec: (observation_spec, action_spec).
    observation_fc_layer_params: units of Dense layers applied to the observation alone.
    action_fc_layer_params: units of Dense layers applied to the action alone.
    joint_fc_layer_params: units of Dense layers applied to the concatenation.
    activation_fn: activation of every hidden layer.
    kernel_initializer: hidden kernels' initializer (name or instance).
    last_kernel_initializer: the Q-value layer's kernel initializer (name or instance).
    last_layer: a zero-argument factory of the final layer (must output one unit);
      a factory rather than a layer so that `copy()` builds fresh variables. Default:
      Dense(1) with `last_kernel_initializer`.
    name: the network's name.
  """

  def __init__(self, input_tensor_spec: Any,
               observation_fc_layer_params: Optional[Sequence[int]] = None,
               action_fc_layer_params: Optional[Sequence[int]] = None,
               joint_fc_layer_params: Optional[Sequence[int]] = None,
               activation_fn: Callable = tf.keras.activations.relu,
               kernel_initializer: InitializerLike = "glorot_uniform",
               last_kernel_initializer: InitializerLike = "glorot_uniform",
               last_layer: Optional[Callable[[], tf.keras.layers.Layer]] = None,
               name: str = "CriticNetwork"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    spec = self.input_tensor_spec
    if not isinstance(spec, (tuple, list)) or len(spec) != 2:
      raise ValueError(f"{name}: input_tensor_spec must be (observation_spec, action_spec), "
                       f"got {spec}")
    for part, leaf in zip(("observation", "action"), spec):
      if len(tf.nest.flatten(leaf)) != 1:
        raise ValueError(f"{name}: the {part} spec must be a single tensor spec, got {leaf}; "
                         "concatenate nested inputs first")
    if isinstance(last_layer, tf.keras.layers.Layer):
      raise TypeError(f"{name}: last_layer must be a zero-argument factory, got the layer "
                      f"{last_layer.name}; pass e.g. `lambda: tf.keras.layers.Dense(1)` so "
                      "that copies do not share variables")
    self._observation_layers = _dense_stack(observation_fc_layer_params, activation_fn,
                                            kernel_initializer, "observation")
    self._action_layers = _dense_stack(action_fc_layer_params, activation_fn,
                                       kernel_initializer, "action")
    self._joint_layers = _dense_stack(joint_fc_layer_params, activation_fn,
                                      kernel_initializer, "joint")
    self._last_layer = last_layer() if last_layer is not None else tf.keras.layers.Dense(
        1, activation=None, kernel_initializer=fresh_initializer(last_kernel_initializer),
        name="value")

  @property
  def observation_layers(self) -> list:
    return list(self._observation_layers)

  @property
  def action_layers(self) -> list:
    return list(self._action_layers)

  @property
  def joint_layers(self) -> list:
    return list(self._joint_layers)

  @property
  def last_layer(self) -> tf.keras.layers.Layer:
    return self._last_layer

  def call(self, inputs, step_type=None, network_state=(), training=False):
    del step_type
    observation_spec, action_spec = (tf.nest.flatten(s)[0] for s in self.input_tensor_spec)
    observation, action = (tf.cast(tf.nest.flatten(x)[0], tf.float32) for x in inputs)
    obs_rank = observation_spec.shape.rank
    # Outer dims ([B] or [B, T]) are whatever precedes the per-sample spec dims.
    outer_shape = tf.shape(observation)[:tf.rank(observation) - obs_rank]
    obs_size = int(np.prod(observation_spec.shape.as_list()))
    action_size = int(np.prod(action_spec.shape.as_list()))
    x = tf.reshape(observation, [-1, obs_size])
    a = tf.reshape(action, [-1, action_size])
    for layer in self._observation_layers:
      x = layer(x, training=training)
    for layer in self._action_layers:
      a = layer(a, training=training)
    joint = tf.concat([x, a], axis=-1)
    for layer in self._joint_layers:
      joint = layer(joint, training=training)
    q_value = tf.squeeze(self._last_layer(joint, training=training), axis=-1)
    return tf.reshape(q_value, outer_shape), network_state
