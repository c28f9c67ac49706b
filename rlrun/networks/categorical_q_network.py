"""CategoricalQNetwork: per action, a distribution of returns over a fixed support (C51)."""

from typing import Any, Callable, Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf

from rlrun.networks.encoding_network import EncodingNetwork, clone_initializer
from rlrun.networks.network import Network
from rlrun.networks.q_network import num_actions_of


@gin.configurable(module="networks")
class CategoricalQNetwork(Network):
  """An EncodingNetwork, then num_actions x num_atoms logits over the support.

  Called as `net(observation)` it returns the expected Q-values [B, num_actions] (so a
  QPolicy acts on it); `logits(observation)` gives the [B, num_actions, num_atoms]
  logits the C51 loss trains.

  Args:
    input_tensor_spec: the observation spec.
    action_spec: a scalar bounded integer spec.
    num_atoms: atoms of the support.
    min_q_value, max_q_value: the support's ends (atoms are evenly spaced between).
    conv_layer_params: (filters, kernel, stride) per conv layer.
    fc_layer_params: units of the hidden Dense layers.
    activation_fn: hidden activation.
    kernel_initializer: hidden kernel initializer (default He truncated normal).
    name: the network's name.
  """

  def __init__(self, input_tensor_spec: Any, action_spec: Any, num_atoms: int = 51,
               min_q_value: float = -10.0, max_q_value: float = 10.0,
               conv_layer_params: Optional[Sequence[Tuple[int, int, int]]] = None,
               fc_layer_params: Sequence[int] = (100,),
               activation_fn: Callable = tf.keras.activations.relu,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               name: str = "CategoricalQNetwork"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    if num_atoms < 2 or not min_q_value < max_q_value:
      raise ValueError(f"{name}: needs num_atoms >= 2 and min_q_value < max_q_value, got "
                       f"{num_atoms}, {min_q_value}, {max_q_value}")
    self._num_actions = num_actions_of(action_spec)
    self._num_atoms = int(num_atoms)
    self._support = tf.constant(np.linspace(min_q_value, max_q_value, num_atoms), tf.float32)
    self._encoder = EncodingNetwork(input_tensor_spec, conv_layer_params=conv_layer_params,
                                    fc_layer_params=fc_layer_params, activation_fn=activation_fn,
                                    kernel_initializer=kernel_initializer)
    self._logits_layer = tf.keras.layers.Dense(
        self._num_actions * self._num_atoms,
        kernel_initializer=clone_initializer(kernel_initializer) or
        tf.keras.initializers.VarianceScaling(scale=0.1))

  @property
  def num_actions(self) -> int:
    return self._num_actions

  @property
  def support(self) -> tf.Tensor:
    return self._support

  @property
  def layers_in_order(self):
    """Every layer an input goes through, in order (the numpy mirror's plan): the
    mirror's outputs are the flat logits; `numpy_q_values` turns them into Q-values."""
    return self._encoder.encoding_layers + [self._logits_layer]

  def numpy_q_values(self, flat_logits: np.ndarray) -> np.ndarray:
    logits = flat_logits.reshape(flat_logits.shape[0], self._num_actions, self._num_atoms)
    logits = logits - logits.max(axis=-1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    return probabilities @ self._support.numpy()

  def logits(self, observation, step_type=None, training: bool = False) -> tf.Tensor:
    features, _ = self._encoder(observation, step_type=step_type, training=training)
    logits = self._logits_layer(features, training=training)
    return tf.reshape(logits, [-1, self._num_actions, self._num_atoms])

  def call(self, observation, step_type=None, network_state=(), training=False):
    probabilities = tf.nn.softmax(self.logits(observation, step_type, training), axis=-1)
    return tf.reduce_sum(probabilities * self._support, axis=-1), network_state
