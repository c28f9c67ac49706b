"""A Keras Adam step as one fused kernel per variable (TensorFlow's ResourceApplyAdam).

Keras' Adam (tf.keras.optimizers.Adam in TF 2.15) updates each variable with about a
dozen separate ops (the two moments, the bias-corrected rate, the step), each a pass
over the variable's memory. ResourceApplyAdam computes the same update, with the same
formula (m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); var -= alpha m / (sqrt(v) +
epsilon), alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)), in one pass. It works on the
optimizer's own slots and step counter, so checkpoints, learning-rate schedules and
`optimizer.iterations` are those of the Keras optimizer. Results agree with Keras' to
float32 rounding, not bit for bit: the kernel forms 1 - beta in float32 where Keras forms
it in double precision, a relative difference of about 1e-5 in the second moment at
beta_2 = 0.999.

Only a plain Adam qualifies: no amsgrad, weight decay, gradient clipping of its own, EMA,
subclass or distribution strategy, dense gradients for variables it was built with. Any
other case returns False and the caller applies the gradients the Keras way.
"""

from typing import Sequence

import tensorflow as tf


def _fusable(optimizer, gradients: Sequence, variables: Sequence) -> bool:
  # Exactly the TF 2.15 Keras Adam: not the legacy one, not a subclass with its own step.
  if type(optimizer) is not tf.keras.optimizers.Adam or tf.distribute.has_strategy():  # pylint: disable=unidiomatic-typecheck
    return False
  # pylint: disable=protected-access
  made_under = getattr(optimizer, "_distribution_strategy", None)
  if made_under is not None and made_under is not tf.distribute.get_strategy():
    return False  # built under a strategy, stepped outside it: Keras knows what to do
  if getattr(optimizer, "_run_with_dtensor", False) or getattr(optimizer, "_mesh", None):
    return False  # DTensor
  if (optimizer.amsgrad or optimizer.weight_decay is not None or optimizer.use_ema or
      optimizer.clipnorm is not None or optimizer.clipvalue is not None or
      optimizer.global_clipnorm is not None):
    return False
  if not all(isinstance(b, float) for b in (optimizer.beta_1, optimizer.beta_2,
                                            optimizer.epsilon)):
    return False
  index = getattr(optimizer, "_index_dict", None)
  if not index or not variables:
    return False
  for gradient, variable in zip(gradients, variables):
    if not isinstance(gradient, tf.Tensor) or not hasattr(variable, "handle"):
      return False  # None, IndexedSlices, or not a resource variable
    # float16 would form 1 - beta far off Keras' value; a mismatched gradient is Keras' error.
    if variable.dtype not in (tf.float32, tf.float64) or gradient.dtype != variable.dtype:
      return False
    if optimizer._var_key(variable) not in index:
      return False
    if getattr(variable, "constraint", None) is not None:
      return False
  return True


def apply(optimizer, gradients: Sequence, variables: Sequence) -> bool:
  """One Adam step of `optimizer` on `variables`; False (nothing done) when not fusable."""
  gradients, variables = list(gradients), list(variables)
  if len(gradients) != len(variables) or not _fusable(optimizer, gradients, variables):
    return False
  # pylint: disable=protected-access
  optimizer._compute_current_learning_rate()  # a schedule's value at this step, as Keras does
  index, constants = optimizer._index_dict, {}
  for gradient, variable in zip(gradients, variables):
    dtype = variable.dtype
    if dtype not in constants:  # the step's scalars, once per dtype
      step = tf.cast(optimizer.iterations + 1, dtype)
      beta_1, beta_2 = (tf.constant(optimizer.beta_1, dtype), tf.constant(optimizer.beta_2, dtype))
      constants[dtype] = dict(
          beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
          lr=tf.cast(optimizer.learning_rate, dtype), beta1=beta_1, beta2=beta_2,
          epsilon=tf.constant(optimizer.epsilon, dtype))
    slot = index[optimizer._var_key(variable)]
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=optimizer._momentums[slot].handle,
        v=optimizer._velocities[slot].handle, grad=gradient, use_locking=False,
        **constants[dtype])
  optimizer.iterations.assign_add(1)
  return True
