"""Small distributions the policies need on top of tensorflow-probability."""

import tensorflow as tf
import tensorflow_probability as tfp


class ShiftedCategorical(tfp.distributions.Categorical):
  """A Categorical over {shift, ..., shift + n - 1} (discrete specs with minimum != 0)."""

  def __init__(self, logits=None, probs=None, dtype=tf.int32, shift=0, validate_args=False,
               name="ShiftedCategorical"):
    parameters = dict(locals())
    self._shift = shift
    super().__init__(logits=logits, probs=probs, dtype=dtype, validate_args=validate_args,
                     name=name)
    self._parameters = parameters

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    return tfp.distributions.Categorical._parameter_properties(dtype, num_classes)

  def _shifted(self, x):
    return x + tf.cast(self._shift, x.dtype)

  def sample(self, sample_shape=(), seed=None, name="sample", **kwargs):
    return self._shifted(super().sample(sample_shape, seed=seed, name=name, **kwargs))

  def mode(self, name="mode", **kwargs):
    return self._shifted(super().mode(name=name, **kwargs))

  def log_prob(self, value, name="log_prob", **kwargs):
    return super().log_prob(value - tf.cast(self._shift, value.dtype), name=name, **kwargs)

  def prob(self, value, name="prob", **kwargs):
    return super().prob(value - tf.cast(self._shift, value.dtype), name=name, **kwargs)


def categorical(logits, dtype, shift) -> tfp.distributions.Distribution:
  """A Categorical over actions starting at `shift`."""
  if shift == 0:
    return tfp.distributions.Categorical(logits=logits, dtype=dtype)
  return ShiftedCategorical(logits=logits, dtype=dtype, shift=shift)
