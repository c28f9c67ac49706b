"""A numpy copy of a small feed-forward network, for fast single-observation inference.

Calling a TensorFlow function costs ~150-250 us of dispatch on CPU; a 4-100-50-2 MLP
costs ~6 us in numpy. Actors that step one environment at a time spend most of their
time in that dispatch, so for networks made only of Flatten and Dense layers rlrun
evaluates a numpy mirror whose weights are refreshed from the TF variables by a
variable client (`update()`), the same way a distributed actor pulls weights.
"""

from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from rlrun.networks.network import Network

_ACTIVATIONS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(x, 0.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
}


def _flat_layers(network) -> Optional[List[tf.keras.layers.Layer]]:
  """The network's layers in order, or None when its structure is not known (or it
  scales or transposes its input, which the mirror does not)."""
  if getattr(network, "input_scale", None) is not None or getattr(network, "channels_first", False):
    return None
  if hasattr(network, "layers_in_order"):
    nested = network.layers_in_order
  elif hasattr(network, "encoding_layers"):
    nested = network.encoding_layers
  elif hasattr(network, "_sequential_layers"):
    nested = network._sequential_layers  # pylint: disable=protected-access
  else:
    return None
  flat = []
  for layer in nested:
    if isinstance(layer, Network):
      inner = _flat_layers(layer)
      if inner is None:
        return None
      flat.extend(inner)
    else:
      flat.append(layer)
  return flat


class NumpyMirror:
  """Evaluates `network` in numpy with weights held by a VariableClient-like object.

  Build it with `NumpyMirror.of(network)`, which returns None for networks it cannot
  mirror (conv layers, recurrent state, unknown activations).
  """

  def __init__(self, plan: Sequence[tuple], variables: Sequence[tf.Variable],
               extra_variables: Sequence[tf.Variable] = ()):
    self._plan = list(plan)
    self._num_layer_variables = len(variables)
    self._variables = list(variables) + list(extra_variables)
    self._weights = [v.numpy() for v in self._variables]

  @classmethod
  def of(cls, network, extra_layers: Sequence[tf.keras.layers.Layer] = (),
         extra_variables: Sequence[tf.Variable] = ()) -> Optional["NumpyMirror"]:
    """A mirror of `network`'s layers followed by `extra_layers`, or None.

    `extra_variables` (e.g. a state-independent log std) are kept in step with the
    layers' weights and read with `extra_weights()`.
    """
    layers = _flat_layers(network)
    if layers is None or getattr(network, "state_spec", ()):
      return None
    layers = layers + list(extra_layers)
    input_specs = tf.nest.flatten(getattr(network, "input_tensor_spec", None))
    vector_input = len(input_specs) == 1 and input_specs[0] is not None and input_specs[0].shape.rank == 1
    if not vector_input and not isinstance(layers[0], tf.keras.layers.Flatten):
      return None
    plan, variables = [], []
    for layer in layers:
      if isinstance(layer, tf.keras.layers.Flatten):
        plan.append(("flatten",))
      elif isinstance(layer, tf.keras.layers.Dense):
        name = tf.keras.activations.serialize(layer.activation)
        name = name if isinstance(name, str) else getattr(layer.activation, "__name__", "")
        if name not in _ACTIVATIONS or not layer.built:
          return None
        plan.append(("dense", len(variables), layer.use_bias, _ACTIVATIONS[name]))
        variables.append(layer.kernel)
        if layer.use_bias:
          variables.append(layer.bias)
      else:
        return None
    return cls(plan, variables, extra_variables)

  @property
  def variables(self) -> List[tf.Variable]:
    return list(self._variables)

  def extra_weights(self) -> List[np.ndarray]:
    """The current values of the extra variables, in their order."""
    return self._weights[self._num_layer_variables:]

  def update(self) -> None:
    """Copies the current values of the TF variables."""
    self._weights = [v.numpy() for v in self._variables]

  def set_weights(self, weights: Sequence[np.ndarray]) -> None:
    """Uses `weights` (in the order of `variables`), e.g. pulled from a remote server."""
    if len(weights) != len(self._variables):
      raise ValueError(f"expected {len(self._variables)} weight arrays, got {len(weights)}")
    self._weights = list(weights)

  def __call__(self, observation: np.ndarray) -> np.ndarray:
    """Outputs for a batch of observations shaped [B, ...]."""
    x = np.asarray(observation, dtype=np.float32)
    for step in self._plan:
      if step[0] == "flatten":
        x = x.reshape(x.shape[0], -1)
      else:
        _, index, use_bias, activation = step
        x = x @ self._weights[index]
        if use_bias:
          x = x + self._weights[index + 1]
        x = activation(x)
    return x
