"""Sequential: a Network made of Keras layers applied in order."""

from typing import Any, Optional, Sequence

import tensorflow as tf

from rlrun.networks.network import Network


def _clone_layer(layer: tf.keras.layers.Layer) -> tf.keras.layers.Layer:
  if isinstance(layer, Network):
    return layer.copy()
  return type(layer).from_config(layer.get_config())


class Sequential(Network):
  """Applies `layers` one after the other; stateless.

  Args:
    layers: Keras layers (or rlrun Networks) to apply in order.
    input_spec: optional input TensorSpec nest.
    name: the network's name.
  """

  def __init__(self, layers: Sequence[tf.keras.layers.Layer], input_spec: Any = None,
               name: Optional[str] = None):
    if not layers:
      raise ValueError("Sequential needs at least one layer, got an empty list")
    super().__init__(input_tensor_spec=input_spec, state_spec=(), name=name)
    self._sequential_layers = list(layers)

  @property
  def layers(self):
    return list(self._sequential_layers)

  def copy(self, **overrides) -> "Sequential":
    layers = overrides.pop("layers", [_clone_layer(l) for l in self._sequential_layers])
    return Sequential(layers, input_spec=overrides.pop("input_spec", self.input_tensor_spec),
                      name=overrides.pop("name", self.name))

  def call(self, inputs, step_type=None, network_state=(), training=False):
    del step_type
    x = inputs
    for layer in self._sequential_layers:
      if isinstance(layer, Network):
        x, _ = layer(x, training=training)
      else:
        x = layer(x, training=training)
    return x, network_state
