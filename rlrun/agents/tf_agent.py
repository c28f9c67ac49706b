"""TFAgent: what every learning algorithm exposes to the runner."""

from typing import Any, NamedTuple, Optional

import tensorflow as tf

from rlrun.agents import fused_adam
from rlrun.specs import tensor_spec
from rlrun.utils import losses


class LossInfo(NamedTuple):
  """The total loss of a train step and algorithm-specific details."""
  loss: Any
  extra: Any = ()


def check_number(owner: str, name: str, value: Any, low: float = float("-inf"),
                 high: float = float("inf")) -> float:
  """`value` as a float when it is a real number in [low, high]; else one-line ValueError."""
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
    where = "" if (low, high) == (float("-inf"), float("inf")) else f" in [{low:g}, {high:g}]"
    raise ValueError(f"{owner}.{name} must be a number{where}, got {value!r}")
  return float(value)


def apply_gradients(optimizer, gradients, variables, clip_norm: Optional[float] = None) -> None:
  """optimizer.apply_gradients, after clipping the gradients to `clip_norm` global norm.

  Under a tf.distribute strategy with several replicas the clip applies to the sum of
  the replicas' gradients, as it would to the gradient of the whole batch on one device.

  Raises:
    ValueError: when clipping across replicas with an optimizer that is not a Keras one.
  """
  context = tf.distribute.get_replica_context()
  if clip_norm is not None and context is not None and context.num_replicas_in_sync > 1:
    if not isinstance(optimizer, tf.keras.optimizers.Optimizer):
      raise ValueError("gradient_clipping across replicas needs a Keras optimizer (e.g. "
                       f"@tf.keras.optimizers.Adam()), got {type(optimizer).__name__}")
    gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, list(gradients))
    gradients, _ = tf.clip_by_global_norm(gradients, clip_norm)
    optimizer.apply_gradients(zip(gradients, variables), skip_gradients_aggregation=True)
    return
  if clip_norm is not None:
    gradients, _ = tf.clip_by_global_norm(gradients, clip_norm)
  if not fused_adam.apply(optimizer, gradients, variables):
    optimizer.apply_gradients(zip(gradients, variables))


def minimize(optimizer, loss_fn, variables, clip_norm: Optional[float] = None) -> tf.Tensor:
  """Takes one optimizer step on `loss_fn()` for `variables`; returns the loss.

  Under a tf.distribute strategy each replica averages its share of the batch and the
  optimizer sums the replicas, so the loss is scaled by 1 / replicas for the gradient.
  """
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(variables)
    loss = loss_fn()
    replica_loss = losses.scale_for_replicas(loss)
  gradients = tape.gradient(replica_loss, variables)
  apply_gradients(optimizer, gradients, variables, clip_norm)
  return loss


def build_optimizers(optimizers_and_variables) -> None:
  """Creates Keras optimizers' slots now (so checkpoints and XLA see every variable)."""
  for optimizer, variables in optimizers_and_variables:
    if isinstance(optimizer, tf.keras.optimizers.Optimizer):
      optimizer.build(variables)


class TFAgent(tf.Module):
  """An algorithm with a `policy` to deploy, a `collect_policy` to explore, and `train`.

  Args:
    time_step_spec: TimeStep spec of the environment.
    action_spec: action spec.
    policy: the greedy/deployment TFPolicy.
    collect_policy: the exploring TFPolicy used to collect data.
    train_sequence_length: the number of consecutive steps one training item spans
      (e.g. 2 for one-step TD: the replay buffer must sample sequences this long).
    train_step_counter: an int64 scalar variable incremented by every `train` call;
      under a tf.distribute strategy, create it in the strategy's scope with
      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA.
    name: the module's name.
  """

  def __init__(self, time_step_spec, action_spec, policy, collect_policy,
               train_sequence_length: Optional[int],
               train_step_counter: Optional[tf.Variable] = None, name: Optional[str] = None):
    super().__init__(name=name)
    self._time_step_spec = tensor_spec.from_spec(time_step_spec)
    self._action_spec = tensor_spec.from_spec(action_spec)
    self._policy = policy
    self._collect_policy = collect_policy
    self._train_sequence_length = train_sequence_length
    if train_step_counter is None:
      # Every replica increments it; under a tf.distribute strategy only one counts.
      train_step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step",
                                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self._train_step_counter = train_step_counter

  @property
  def time_step_spec(self):
    return self._time_step_spec

  @property
  def action_spec(self):
    return self._action_spec

  @property
  def policy(self):
    return self._policy

  @property
  def collect_policy(self):
    return self._collect_policy

  @property
  def collect_data_spec(self):
    """The Trajectory spec of the data the collect policy produces (replay's data_spec)."""
    return self._collect_policy.trajectory_spec

  @property
  def training_data_spec(self):
    return self.collect_data_spec

  @property
  def train_sequence_length(self) -> Optional[int]:
    return self._train_sequence_length

  @property
  def train_step_counter(self) -> tf.Variable:
    return self._train_step_counter

  def initialize(self) -> None:
    """Creates all variables (networks, target networks, optimizer slots)."""
    self._initialize()

  def train(self, experience, weights=None) -> LossInfo:
    """One gradient step on a batch of [B, T, ...] Trajectories; increments the counter."""
    return self._train(experience, weights)

  def _initialize(self) -> None:
    pass

  def _train(self, experience, weights) -> LossInfo:
    raise NotImplementedError
