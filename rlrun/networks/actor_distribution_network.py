"""ActorDistributionNetwork: an observation encoder followed by a projection to a distribution."""

from typing import Any, Callable, Optional, Sequence, Tuple

import gin
import tensorflow as tf

from rlrun.networks.encoding_network import EncodingNetwork
from rlrun.networks.network import Network
from rlrun.networks.projection_networks import (CategoricalProjectionNetwork,
                                                TanhNormalProjectionNetwork)
from rlrun.specs import tensor_spec


@gin.configurable(module="networks")
class ActorDistributionNetwork(Network):
  """Maps an observation to a distribution over one action.

  The observation goes through an EncodingNetwork (conv layers, flatten, Dense layers);
  the features then go through a projection network chosen by the action spec: a float
  spec uses `continuous_projection_net(spec)`, an integer spec
  `discrete_projection_net(spec)`. Called as `net(observation)`, it returns
  `(distribution, network_state)` with the distribution nested like `output_tensor_spec`
  and batched over the observation's outer dims.

  Args:
    input_tensor_spec: the observation spec (a single tensor spec).
    output_tensor_spec: the action spec: a single bounded spec (possibly in a nest of one).
    fc_layer_params: units of the encoder's Dense layers.
    conv_layer_params: (filters, kernel_size, stride) per encoder Conv2D layer.
    activation_fn: hidden activation.
    kernel_initializer: hidden kernels' initializer (default He truncated normal).
    continuous_projection_net: callable(spec) -> projection Network for float specs.
    discrete_projection_net: callable(spec) -> projection Network for integer specs.
    name: the network's name.
  """

  def __init__(self, input_tensor_spec: Any, output_tensor_spec: Any,
               fc_layer_params: Optional[Sequence[int]] = (200, 100),
               conv_layer_params: Optional[Sequence[Tuple[int, int, int]]] = None,
               activation_fn: Callable = tf.keras.activations.relu,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               continuous_projection_net: Callable[[Any], Network] = TanhNormalProjectionNetwork,
               discrete_projection_net: Callable[[Any], Network] = CategoricalProjectionNetwork,
               name: str = "ActorDistributionNetwork"):
    super().__init__(input_tensor_spec=input_tensor_spec, name=name)
    self._output_tensor_spec = tensor_spec.from_spec(output_tensor_spec)
    flat_outputs = tf.nest.flatten(self._output_tensor_spec)
    if len(flat_outputs) != 1:
      raise ValueError(f"{name}: supports a single action spec, got {output_tensor_spec}; "
                       "use one network per action or combine the actions into one spec")
    action_spec = flat_outputs[0]
    if tensor_spec.is_discrete(action_spec):
      make_projection = discrete_projection_net
    elif tensor_spec.is_continuous(action_spec):
      make_projection = continuous_projection_net
    else:
      raise ValueError(f"{name}: the action spec must have an integer or float dtype, got "
                       f"{action_spec}")
    self._encoder = EncodingNetwork(input_tensor_spec, conv_layer_params=conv_layer_params,
                                    fc_layer_params=fc_layer_params, activation_fn=activation_fn,
                                    kernel_initializer=kernel_initializer)
    self._projection_network = make_projection(action_spec)

  @property
  def output_tensor_spec(self) -> Any:
    return self._output_tensor_spec

  @property
  def encoder(self) -> EncodingNetwork:
    return self._encoder

  @property
  def projection_network(self) -> Network:
    return self._projection_network

  def call(self, observation, step_type=None, network_state=(), training=False):
    features, network_state = self._encoder(observation, step_type=step_type,
                                            network_state=network_state, training=training)
    distribution, _ = self._projection_network(features, step_type=step_type,
                                               training=training)
    return (tf.nest.pack_sequence_as(self._output_tensor_spec, [distribution]),
            network_state)
