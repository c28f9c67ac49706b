"""NumpyActorPolicy: an ActorDistributionNetwork policy evaluated in numpy.

An actor stepping one environment calls its policy once per step; through TensorFlow
that costs ~1-2 ms of dispatch and tfp bookkeeping for a 256x256 MLP, through numpy
~50 us. The mirror covers the encoder's Dense layers and the projection layer and
samples the distribution itself: a tanh-squashed Normal (TanhNormalProjectionNetwork),
a Normal with a learned log std (NormalProjectionNetwork), gSDE's state-dependent noise
(StateDependentNormalProjectionNetwork: one noise matrix per environment, drawn again
every `noise_interval` calls and at `reset_noise()`) or a Categorical
(CategoricalProjectionNetwork); for a StochasticActorPolicy it also records each
sample's log-prob. Weights are a snapshot refreshed by
`update()` (from the local TF variables) or `set_weights()` (pulled from a server).
"""

from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

from rlrun.networks.numpy_mirror import NumpyMirror
from rlrun.networks.projection_networks import (CategoricalProjectionNetwork,
                                                NormalProjectionNetwork,
                                                StateDependentNormalProjectionNetwork,
                                                TanhNormalProjectionNetwork)
from rlrun.policies.py_policy import PyPolicy
from rlrun.policies.stochastic_policy import LogProbInfo
from rlrun.specs import tensor_spec
from rlrun.trajectories import PolicyStep

_STD_TRANSFORMS: Dict[Any, Callable[[np.ndarray], np.ndarray]] = {
    tf.exp: np.exp,
    tf.math.exp: np.exp,
    tf.nn.softplus: lambda x: np.logaddexp(x, 0.0),
    tf.math.softplus: lambda x: np.logaddexp(x, 0.0),
}


def _normal_log_prob(z: np.ndarray, log_std: np.ndarray) -> np.ndarray:
  """log N(x; mean, std) summed over the last axis, from z = (x - mean) / std."""
  return np.sum(-0.5 * np.square(z) - log_std - 0.5 * np.log(2 * np.pi), axis=-1)


class _MirroredActor(PyPolicy):
  """What the numpy actor policies share: the mirror, a generator, the action reshaping.

  Subclasses turn the mirror's outputs for a [B, ...] batch of observations into
  [B, action size] actions and the policy info (`_actions`).
  """

  def __init__(self, actor_policy, mirror: NumpyMirror, seed: Optional[int] = None,
               info_spec: Any = ()):
    super().__init__(tensor_spec.to_nest_array_spec(actor_policy.time_step_spec),
                     tensor_spec.to_nest_array_spec(actor_policy.action_spec),
                     info_spec=tensor_spec.to_nest_array_spec(info_spec))
    self._mirror = mirror
    self._rng = np.random.default_rng(seed)
    spec = tf.nest.flatten(self.action_spec)[0]
    self._dtype = spec.dtype
    self._shape = tuple(spec.shape)
    self._observation_rank = len(tf.nest.flatten(self.time_step_spec.observation)[0].shape)
    if spec.dtype.kind == "f":
      low = np.broadcast_to(np.asarray(spec.minimum, np.float32), self._shape)
      high = np.broadcast_to(np.asarray(spec.maximum, np.float32), self._shape)
      self._low, self._high = low.reshape(-1), high.reshape(-1)
      self._scale, self._shift = (high - low).reshape(-1) / 2.0, (high + low).reshape(-1) / 2.0

  @property
  def rng(self) -> np.random.Generator:
    return self._rng

  @property
  def variables(self):
    return self._mirror.variables

  def update(self) -> None:
    self._mirror.update()

  def set_weights(self, weights) -> None:
    self._mirror.set_weights(weights)

  def _actions(self, outputs: np.ndarray) -> Tuple[np.ndarray, Any]:
    """([B, action size] actions, info of [B, ...] arrays or ())."""
    raise NotImplementedError

  def _action(self, time_step, policy_state) -> PolicyStep:
    observation = np.asarray(tf.nest.flatten(time_step.observation)[0])
    batched = observation.ndim > self._observation_rank
    action, info = self._actions(self._mirror(observation if batched else observation[None]))
    action = action.reshape((action.shape[0],) + self._shape).astype(self._dtype)
    action = tf.nest.pack_sequence_as(self.action_spec, [action if batched else action[0]])
    if not batched:
      info = tf.nest.map_structure(lambda x: x[0], info)
    return PolicyStep(action, policy_state, info)


class NumpyActorPolicy(_MirroredActor):
  """Samples (or, when `greedy`, takes the mode of) an actor network's distribution.

  The greedy action of a tanh-normal is the squashed mean, as GreedyPolicy takes it.
  With `log_probs`, PolicyStep.info holds each sample's log-prob (and, for continuous
  actions, the unclipped sample), as StochasticActorPolicy records them. Build it with
  `NumpyActorPolicy.of(actor_policy, greedy, log_probs)`, which returns None for
  networks it cannot mirror.
  """

  def __init__(self, actor_policy, mirror: NumpyMirror, projection, greedy: bool,
               log_probs: bool = False, seed: Optional[int] = None):
    super().__init__(actor_policy, mirror, seed,
                     info_spec=actor_policy.info_spec if log_probs else ())
    self._greedy = greedy
    self._log_probs = log_probs
    self._kind = ("categorical" if isinstance(projection, CategoricalProjectionNetwork) else
                  "normal" if isinstance(projection, NormalProjectionNetwork) else
                  "state_dependent" if isinstance(projection, StateDependentNormalProjectionNetwork)
                  else "tanh_normal")
    if self._kind == "categorical":
      self._offset = int(np.min(tf.nest.flatten(self.action_spec)[0].minimum))
      self._num_actions = projection.num_actions
    elif self._kind == "state_dependent":
      self._noise_interval = projection.noise_interval
      self._epsilon = projection.epsilon
      self._unit_noise: Optional[np.ndarray] = None  # [B, features, dim], drawn from N(0, 1)
      self._calls = 0  # since the noise was drawn
    elif self._kind == "tanh_normal":
      self._std_transform = _STD_TRANSFORMS[projection._std_transform]  # pylint: disable=protected-access
      self._std_bounds = projection._std_bounds  # pylint: disable=protected-access

  @classmethod
  def of(cls, actor_policy, greedy: bool = False, log_probs: bool = False) -> Optional[PyPolicy]:
    network = actor_policy.actor_network
    encoder = getattr(network, "encoder", None)
    projection = getattr(network, "projection_network", None)
    if encoder is None or getattr(actor_policy, "policy_state_spec", ()):
      return None
    from rlrun.networks.actor_network import ActorNetwork
    if isinstance(network, ActorNetwork):
      mirror = NumpyMirror.of(encoder, extra_layers=[network.action_layer])
      return None if mirror is None else NumpyDeterministicActorPolicy(actor_policy, mirror)
    if isinstance(projection, TanhNormalProjectionNetwork):
      if log_probs or projection._std_transform not in _STD_TRANSFORMS:  # pylint: disable=protected-access
        return None
    elif isinstance(projection, NormalProjectionNetwork):
      mirror = NumpyMirror.of(encoder, extra_layers=[projection.mean_layer],
                              extra_variables=[projection.log_std])
      return None if mirror is None else cls(actor_policy, mirror, projection, greedy, log_probs)
    elif isinstance(projection, StateDependentNormalProjectionNetwork):
      layer = projection.mean_layer
      if not layer.built or projection.log_std is None:
        return None
      mirror = NumpyMirror.of(encoder, extra_variables=[layer.kernel, layer.bias,
                                                        projection.log_std])
      return None if mirror is None else cls(actor_policy, mirror, projection, greedy, log_probs)
    elif not isinstance(projection, CategoricalProjectionNetwork):
      return None
    mirror = NumpyMirror.of(encoder, extra_layers=[projection.projection_layer])
    return None if mirror is None else cls(actor_policy, mirror, projection, greedy, log_probs)

  def _actions(self, outputs: np.ndarray) -> Tuple[np.ndarray, Any]:
    if self._kind == "categorical":
      return self._categorical_action(outputs)
    if self._kind == "normal":
      return self._normal_action(outputs)
    if self._kind == "state_dependent":
      return self._state_dependent_action(outputs)
    return self._squashed(outputs), ()

  def reset_noise(self) -> None:
    """gSDE: the next action draws new noise matrices (a rollout starts)."""
    if self._kind == "state_dependent":
      self._unit_noise = None

  def _squashed(self, params: np.ndarray) -> np.ndarray:
    mean, std_pre = np.split(params, 2, axis=-1)
    if not self._greedy:
      std = self._std_transform(np.clip(std_pre, *self._std_bounds))
      mean = mean + std * self._rng.standard_normal(mean.shape, dtype=np.float32)
    action = np.tanh(mean) * self._scale + self._shift
    return np.clip(action, self._low, self._high)

  def _normal_action(self, mean: np.ndarray) -> Tuple[np.ndarray, Any]:
    if self._greedy:
      return np.clip(mean, self._low, self._high), ()
    log_std = self._mirror.extra_weights()[0]
    noise = self._rng.standard_normal(mean.shape, dtype=np.float32)
    sample = mean + np.exp(log_std) * noise
    info = ()
    if self._log_probs:
      log_prob = _normal_log_prob(noise, log_std)
      info = LogProbInfo(log_prob.astype(np.float32),
                         sample.reshape((sample.shape[0],) + self._shape))
    return np.clip(sample, self._low, self._high), info

  def _state_dependent_action(self, features: np.ndarray) -> Tuple[np.ndarray, Any]:
    kernel, bias, log_std = self._mirror.extra_weights()
    mean = features @ kernel + bias
    if self._greedy:
      return np.clip(mean, self._low, self._high), ()
    batch = features.shape[0]
    if (self._unit_noise is None or self._unit_noise.shape[0] != batch or
        (self._noise_interval is not None and self._calls >= self._noise_interval)):
      self._unit_noise = self._rng.standard_normal((batch,) + log_std.shape, dtype=np.float32)
      self._calls = 0
    self._calls += 1
    std_matrix = np.exp(log_std)
    noise = np.einsum("bf,bfa->ba", features, self._unit_noise * std_matrix)
    sample = mean + noise
    info = ()
    if self._log_probs:
      std = np.sqrt(np.square(features) @ np.square(std_matrix) + self._epsilon)
      log_prob = _normal_log_prob(noise / std, np.log(std))
      info = LogProbInfo(log_prob.astype(np.float32),
                         sample.reshape((sample.shape[0],) + self._shape))
    return np.clip(sample, self._low, self._high), info

  def _categorical_action(self, logits: np.ndarray) -> Tuple[np.ndarray, Any]:
    logits = logits.reshape(logits.shape[0], -1, self._num_actions)
    if self._greedy:
      index = np.argmax(logits, axis=-1)
    else:
      gumbel = -np.log(-np.log(self._rng.uniform(1e-12, 1.0, logits.shape)))
      index = np.argmax(logits + gumbel, axis=-1)
    info = ()
    if self._log_probs:
      top = np.max(logits, axis=-1, keepdims=True)
      log_norm = top[..., 0] + np.log(np.sum(np.exp(logits - top), axis=-1))
      chosen = np.take_along_axis(logits, index[..., None], axis=-1)[..., 0]
      action = index + self._offset
      return action, LogProbInfo(np.sum(chosen - log_norm, axis=-1).astype(np.float32),
                                 action.reshape((action.shape[0],) + self._shape).astype(
                                     self._dtype))
    return index + self._offset, info


class NumpyDeterministicActorPolicy(_MirroredActor):
  """An ActorNetwork's action (tanh scaled onto the bounds) in numpy; optionally plus noise.

  With `noise_scale` (per action dimension, in action units) it adds clipped Gaussian
  noise drawn from its own generator, as GaussianPolicy(ActorPolicy) does in TensorFlow.
  """

  def __init__(self, actor_policy, mirror: NumpyMirror, noise_scale: Optional[Any] = None,
               seed: Optional[int] = None):
    super().__init__(actor_policy, mirror, seed)
    self._noise = None if noise_scale is None else np.broadcast_to(
        np.asarray(noise_scale, np.float32), self._shape).reshape(-1)

  def with_noise(self, noise_scale: Any) -> "NumpyDeterministicActorPolicy":
    noisy = NumpyDeterministicActorPolicy.__new__(NumpyDeterministicActorPolicy)
    noisy.__dict__.update(self.__dict__)
    noisy._noise = np.broadcast_to(np.asarray(noise_scale, np.float32), self._shape).reshape(-1)
    noisy._rng = np.random.default_rng()
    return noisy

  def _actions(self, outputs: np.ndarray) -> Tuple[np.ndarray, Any]:
    action = outputs * self._scale + self._shift
    if self._noise is not None:
      action = action + self._noise * self._rng.standard_normal(action.shape, dtype=np.float32)
    return np.clip(action, self._low, self._high), ()
