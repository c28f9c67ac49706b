"""Projection networks: map a feature vector to an action distribution.

`TanhNormalProjectionNetwork` gives a tanh-squashed diagonal Normal over a bounded
continuous spec (as used by SAC); `CategoricalProjectionNetwork` gives a Categorical over
a bounded integer spec; `NormalProjectionNetwork` (a learned log std) and
`StateDependentNormalProjectionNetwork` (gSDE) give unsquashed Normals for PPO. All are
called as `net(features)` with features of shape
[..., F] and return `(distribution, network_state)`; every leading dim of the features
becomes a batch dim of the distribution.
"""

from typing import Any, Callable, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from rlrun.networks.encoding_network import clone_initializer
from rlrun.networks.network import Network
from rlrun.policies.distributions import categorical
from rlrun.specs import tensor_spec

tfd = tfp.distributions
tfb = tfp.bijectors


class SquashedNormal(tfd.TransformedDistribution):
  """A TransformedDistribution whose `mode()` is the bijected mode of its base.

  For a tanh squash this is the squashed mean, the action a greedy policy takes (the
  exact mode of the squashed density has no closed form). It keeps the parent's
  constructor so that tfp can rebuild it as a CompositeTensor from (distribution,
  bijector), e.g. when it crosses a tf.function boundary.
  """

  def _mode(self, **kwargs):
    return self.bijector.forward(self.distribution.mode(**kwargs))


def _bounds_of(sample_spec: Any) -> tuple:
  """(minimum, maximum) float32 arrays broadcast to the spec's shape; checks they are finite."""
  if not (tensor_spec.is_bounded(sample_spec) and tensor_spec.is_continuous(sample_spec)):
    raise ValueError(f"a tanh-normal projection needs a bounded float spec, got {sample_spec}; "
                     "use a BoundedTensorSpec with finite minimum and maximum")
  shape = tuple(sample_spec.shape)
  low = np.broadcast_to(np.asarray(sample_spec.minimum, np.float32), shape)
  high = np.broadcast_to(np.asarray(sample_spec.maximum, np.float32), shape)
  if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
    raise ValueError(f"sample_spec bounds must be finite with maximum > minimum, got "
                     f"minimum={sample_spec.minimum}, maximum={sample_spec.maximum}")
  return low, high


def squashed_normal(base: tfd.Distribution, minimum: Any, maximum: Any) -> SquashedNormal:
  """`base` (e.g. a diagonal Normal) squashed by tanh, then mapped from (-1, 1) onto the bounds.

  log_prob includes the tanh and affine log-det-jacobian corrections.
  """
  minimum = tf.convert_to_tensor(minimum, base.dtype)
  maximum = tf.convert_to_tensor(maximum, base.dtype)
  # Chain applies right to left: tanh first, then scale and shift into the bounds.
  bijector = tfb.Chain([tfb.Shift((maximum + minimum) / 2.0),
                        tfb.Scale((maximum - minimum) / 2.0), tfb.Tanh()])
  return SquashedNormal(base, bijector, name="SquashedNormal")


@gin.configurable(module="networks")
class TanhNormalProjectionNetwork(Network):
  """Features -> Dense(2 * dim) -> (mean, std) -> tanh-squashed Normal within the spec's bounds.

  Args:
    sample_spec: a bounded float spec of one action, shape [dim] (or scalar).
    activation_fn: activation of the projection layer (None: linear).
    std_transform: maps the clipped pre-activation of the std to a positive std.
    std_bounds: (low, high) clip of the std pre-activation; with `tf.exp` these are
      bounds on the log std, keeping the std away from 0 and from huge values.
    kernel_initializer: initializer of the projection kernel (default: a small
      variance-scaling init, so initial means are near 0 and initial stds near
      std_transform(0)).
    name: the network's name.
  """

  def __init__(self, sample_spec: Any, activation_fn: Optional[Callable] = None,
               std_transform: Callable[[tf.Tensor], tf.Tensor] = tf.exp,
               std_bounds: Sequence[float] = (-20.0, 2.0),
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               name: str = "TanhNormalProjectionNetwork"):
    super().__init__(input_tensor_spec=None, name=name)
    self._sample_spec = tensor_spec.from_spec(sample_spec)
    if self._sample_spec.shape.rank not in (0, 1):
      raise ValueError(f"{name}: sample_spec must have shape [dim] or [], got "
                       f"{self._sample_spec.shape}; flatten the action spec")
    if len(std_bounds) != 2 or std_bounds[0] >= std_bounds[1]:
      raise ValueError(f"{name}: std_bounds must be (low, high) with low < high, got "
                       f"{std_bounds}")
    self._minimum, self._maximum = _bounds_of(self._sample_spec)
    self._dim = int(np.prod(self._sample_spec.shape.as_list()))
    self._std_transform = std_transform
    self._std_bounds = (float(std_bounds[0]), float(std_bounds[1]))
    self._projection_layer = tf.keras.layers.Dense(
        2 * self._dim, activation=activation_fn,
        kernel_initializer=clone_initializer(kernel_initializer) or
        tf.keras.initializers.VarianceScaling(scale=0.1))

  @property
  def sample_spec(self) -> Any:
    return self._sample_spec

  @property
  def projection_layer(self) -> tf.keras.layers.Layer:
    return self._projection_layer

  def call(self, inputs, step_type=None, network_state=(), training=False):
    del step_type
    params = self._projection_layer(tf.cast(inputs, tf.float32), training=training)
    mean, std_pre = tf.split(params, 2, axis=-1)
    std = self._std_transform(tf.clip_by_value(std_pre, *self._std_bounds))
    if self._sample_spec.shape.rank == 0:
      base = tfd.Normal(mean[..., 0], std[..., 0])
    else:
      base = tfd.MultivariateNormalDiag(loc=mean, scale_diag=std)
    return squashed_normal(base, self._minimum, self._maximum), network_state


@gin.configurable(module="networks")
class CategoricalProjectionNetwork(Network):
  """Features -> Dense(num_actions) logits -> Categorical over the spec's integer range.

  Samples have the spec's dtype and lie in [minimum, maximum]. A non-scalar spec of shape
  S gets logits [..., *S, num_actions] wrapped in an Independent, so its event shape is S.

  Args:
    sample_spec: a bounded integer spec with the same bounds in every dimension.
    logits_init_output_factor: scale of the logits kernel's variance-scaling init; small,
      so that the initial policy is close to uniform.
    name: the network's name.
  """

  def __init__(self, sample_spec: Any, logits_init_output_factor: float = 0.1,
               name: str = "CategoricalProjectionNetwork"):
    super().__init__(input_tensor_spec=None, name=name)
    spec = tensor_spec.from_spec(sample_spec)
    if not (tensor_spec.is_bounded(spec) and tensor_spec.is_discrete(spec)):
      raise ValueError(f"{name}: needs a bounded integer sample_spec, got {sample_spec}")
    low, high = np.unique(spec.minimum), np.unique(spec.maximum)
    if low.size != 1 or high.size != 1 or high[0] < low[0]:
      raise ValueError(f"{name}: every dimension of {sample_spec} must share one range "
                       "minimum <= maximum; split differing ranges into separate specs")
    self._sample_spec = spec
    self._minimum = int(low[0])
    self._num_actions = int(high[0]) - self._minimum + 1
    self._sample_shape = spec.shape.as_list()
    self._projection_layer = tf.keras.layers.Dense(
        self._num_actions * int(np.prod(self._sample_shape)),
        kernel_initializer=tf.keras.initializers.VarianceScaling(
            scale=logits_init_output_factor),
        bias_initializer="zeros")

  @property
  def num_actions(self) -> int:
    return self._num_actions

  @property
  def projection_layer(self) -> tf.keras.layers.Layer:
    return self._projection_layer

  @property
  def sample_spec(self) -> Any:
    return self._sample_spec

  def call(self, inputs, step_type=None, network_state=(), training=False):
    del step_type
    logits = self._projection_layer(tf.cast(inputs, tf.float32), training=training)
    logits = tf.reshape(logits, tf.concat(
        [tf.shape(logits)[:-1], self._sample_shape + [self._num_actions]], 0))
    distribution = categorical(logits, self._sample_spec.dtype, self._minimum)
    if self._sample_shape:
      distribution = tfd.Independent(distribution,
                                     reinterpreted_batch_ndims=len(self._sample_shape))
    return distribution, network_state


class UnsquashedNormalProjection(Network):
  """What PPO's Gaussian projections share: a Dense(dim) mean over the features and an
  unsquashed Normal (samples may leave the spec's bounds; the policy clips the action it
  sends to the environment)."""

  def __init__(self, sample_spec: Any,
               kernel_initializer: Optional[tf.keras.initializers.Initializer], name: str):
    super().__init__(input_tensor_spec=None, name=name)
    self._sample_spec = tensor_spec.from_spec(sample_spec)
    if self._sample_spec.shape.rank not in (0, 1) or not self._sample_spec.dtype.is_floating:
      raise ValueError(f"{name}: sample_spec must be a float spec of shape [dim] or [], got "
                       f"{sample_spec}")
    self._dim = int(np.prod(self._sample_spec.shape.as_list()))
    self._mean_layer = tf.keras.layers.Dense(
        self._dim, kernel_initializer=clone_initializer(kernel_initializer) or
        tf.keras.initializers.Orthogonal(gain=0.01))

  @property
  def sample_spec(self) -> Any:
    return self._sample_spec

  @property
  def mean_layer(self) -> tf.keras.layers.Layer:
    return self._mean_layer

  def _normal(self, mean: tf.Tensor, std: tf.Tensor) -> tfd.Distribution:
    if self._sample_spec.shape.rank == 0:
      return tfd.Normal(mean[..., 0], std[..., 0])
    return tfd.MultivariateNormalDiag(loc=mean, scale_diag=std)


@gin.configurable(module="networks")
class NormalProjectionNetwork(UnsquashedNormalProjection):
  """Features -> Dense(dim) mean, with a learned log std per dimension -> diagonal Normal.

  The std does not depend on the observation (as PPO's Gaussian policies use it).

  Args:
    sample_spec: a float spec of one action, shape [dim] (or scalar).
    log_std_init: the initial log std of every dimension.
    kernel_initializer: initializer of the mean's kernel (default: orthogonal with gain
      0.01, so initial means are near 0).
    name: the network's name.
  """

  def __init__(self, sample_spec: Any, log_std_init: float = 0.0,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               name: str = "NormalProjectionNetwork"):
    super().__init__(sample_spec, kernel_initializer, name)
    self._log_std = tf.Variable(np.full([self._dim], log_std_init, np.float32), name="log_std")

  @property
  def log_std(self) -> tf.Variable:
    return self._log_std

  def call(self, inputs, step_type=None, network_state=(), training=False):
    del step_type
    mean = self._mean_layer(tf.cast(inputs, tf.float32), training=training)
    return self._normal(mean, tf.exp(self._log_std) + tf.zeros_like(mean)), network_state


@gin.configurable(module="networks")
class StateDependentNormalProjectionNetwork(UnsquashedNormalProjection):
  """Generalized state-dependent exploration (gSDE, Raffin et al. 2022): Features ->
  Dense(dim) mean, and a Normal whose spread depends on the features.

  The exploration noise of an action is `features @ W`, W a [features, dim] matrix whose
  entries are drawn from Normal(0, exp(log_std)) and kept for several steps, so the noise
  varies smoothly with the state instead of jumping every step. Over a fresh W the action
  is Normal(mean, sqrt(features^2 @ exp(log_std)^2 + epsilon)) in each dimension: that
  is the distribution this network returns, whose log-prob PPO weighs samples by. The
  numpy collect policy (policies.numpy_actor_policy) keeps one W per environment and
  draws it again every `noise_interval` steps and when each rollout starts; a TensorFlow
  collect policy samples the distribution itself (a fresh W every step). The log std is
  learned, one per (feature, action dimension); unsquashed samples are clipped by the
  policy as NormalProjectionNetwork's are.

  Args:
    sample_spec: a float spec of one action, shape [dim] (or scalar).
    log_std_init: the initial log std of every entry of W.
    noise_interval: environment steps each W is kept (None: a whole rollout).
    learn_features: let the noise's gradient reach the encoder (default: the features
      enter the spread as constants, as RL Zoo's PPO runs gSDE).
    epsilon: added to the variance, keeping the std above 0 when the features are 0.
    kernel_initializer: initializer of the mean's kernel (default: orthogonal with gain
      0.01, so initial means are near 0).
    name: the network's name.
  """

  def __init__(self, sample_spec: Any, log_std_init: float = 0.0,
               noise_interval: Optional[int] = 4, learn_features: bool = False,
               epsilon: float = 1e-6,
               kernel_initializer: Optional[tf.keras.initializers.Initializer] = None,
               name: str = "StateDependentNormalProjectionNetwork"):
    super().__init__(sample_spec, kernel_initializer, name)
    if noise_interval is not None and (isinstance(noise_interval, bool) or
                                       not isinstance(noise_interval, int) or noise_interval < 1):
      raise ValueError(f"{name}: noise_interval must be an int >= 1 (steps each noise matrix "
                       f"is kept) or None (a whole rollout), got {noise_interval!r}")
    if not epsilon > 0:
      raise ValueError(f"{name}: epsilon must be > 0, got {epsilon}")
    self._log_std_init = float(log_std_init)
    self._noise_interval = noise_interval
    self._learn_features = bool(learn_features)
    self._epsilon = float(epsilon)
    self._log_std = None

  def build(self, input_shape):
    features = int(input_shape[-1])
    self._log_std = tf.Variable(np.full([features, self._dim], self._log_std_init, np.float32),
                                name="log_std")
    super().build(input_shape)

  @property
  def log_std(self) -> Optional[tf.Variable]:
    """The [features, dim] log std of the noise matrix's entries (None until built)."""
    return self._log_std

  @property
  def noise_interval(self) -> Optional[int]:
    return self._noise_interval

  @property
  def epsilon(self) -> float:
    return self._epsilon

  def call(self, inputs, step_type=None, network_state=(), training=False):
    del step_type
    features = tf.cast(inputs, tf.float32)
    mean = self._mean_layer(features, training=training)
    latent = features if self._learn_features else tf.stop_gradient(features)
    variance = tf.einsum("...f,fa->...a", tf.square(latent), tf.exp(2.0 * self._log_std))
    return self._normal(mean, tf.sqrt(variance + self._epsilon)), network_state
