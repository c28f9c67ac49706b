"""Network: a Keras layer that knows its input spec and returns (output, network_state)."""

from typing import Any, Optional

import tensorflow as tf

from rlrun.specs import tensor_spec


def _output_spec_of(output: Any) -> tf.TensorSpec:
  """The per-example spec of one output leaf (a tensor, or a distribution's samples)."""
  if hasattr(output, "event_shape") and hasattr(output, "batch_shape"):
    # A tfp distribution is described by the spec of one sample (batch dim dropped);
    # duck-typed so that importing networks does not pull in tensorflow-probability.
    shape = output.batch_shape[1:].concatenate(output.event_shape)
    return tf.TensorSpec(shape, output.dtype)
  return tf.TensorSpec(output.shape[1:], output.dtype)


class Network(tf.keras.layers.Layer):
  """Base of every rlrun network.

  A network is called as `net(inputs, step_type=None, network_state=(), training=False)`
  and returns `(outputs, next_network_state)`. Its constructor arguments are recorded
  so that `copy()` builds an identical, independent network (e.g. a target network).
  """

  def __new__(cls, *args, **kwargs):
    instance = super().__new__(cls)
    instance._ctor_args, instance._ctor_kwargs = args, dict(kwargs)
    return instance

  def __init__(self, input_tensor_spec: Any = None, state_spec: Any = (),
               name: Optional[str] = None):
    super().__init__(name=name)
    self._input_tensor_spec = (None if input_tensor_spec is None
                               else tensor_spec.from_spec(input_tensor_spec))
    self._state_spec = state_spec
    self._output_spec = None

  @property
  def input_tensor_spec(self) -> Any:
    return self._input_tensor_spec

  @property
  def state_spec(self) -> Any:
    return self._state_spec

  def create_variables(self, input_tensor_spec: Any = None, training: bool = False) -> Any:
    """Builds the variables by calling the network once on zeros; returns the output spec."""
    spec = self._input_tensor_spec if input_tensor_spec is None else tensor_spec.from_spec(
        input_tensor_spec)
    if spec is None:
      raise ValueError(f"{self.name}: create_variables needs an input_tensor_spec; pass one "
                       "to the constructor or to create_variables")
    if self._input_tensor_spec is None:
      self._input_tensor_spec = spec
    if self._output_spec is None:
      zeros = tensor_spec.zero_spec_nest(spec, outer_dims=(1,))
      state = tensor_spec.zero_spec_nest(self._state_spec, outer_dims=(1,)) if self._state_spec else ()
      # step_type is passed explicitly: user subclasses may declare
      # `call(self, observations, step_type, network_state)` without defaults.
      outputs, _ = self(zeros, step_type=None, network_state=state, training=training)
      self._output_spec = tf.nest.map_structure(_output_spec_of, outputs)
    return self._output_spec

  def __call__(self, inputs: Any, *args, **kwargs) -> Any:
    """Calls the network, filling in `step_type=None` and `network_state=()` when omitted.

    Subclasses may then declare `call(inputs, step_type, network_state)` without
    defaults and still be called as `net(inputs)`.
    """
    if len(args) < 1:
      kwargs.setdefault("step_type", None)
    if len(args) < 2:
      kwargs.setdefault("network_state", ())
    return super().__call__(inputs, *args, **kwargs)

  def get_initial_state(self, batch_size: Any = None) -> Any:
    if not self._state_spec:
      return ()
    return tensor_spec.zero_spec_nest(self._state_spec,
                                      outer_dims=() if batch_size is None else (batch_size,))

  def copy(self, **overrides) -> "Network":
    """A new network built from the same constructor arguments (fresh variables)."""
    kwargs = dict(self._ctor_kwargs, **overrides)
    return type(self)(*self._ctor_args, **kwargs)

  def call(self, inputs, step_type=None, network_state=(), training=False):  # pragma: no cover
    raise NotImplementedError
