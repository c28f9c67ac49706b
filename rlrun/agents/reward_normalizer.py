"""RewardNormalizer: rewards divided by a running standard deviation of discounted returns.

On-policy agents learn values of returns whose scale is the environment's (Pendulum's
rewards reach -16 a step); dividing rewards by the spread of the discounted return seen so
far brings value targets near unit scale without moving the policy's optimum. The
statistics are variables of the agent, so checkpoints carry them and a resumed run
continues them; policies are unaffected (only training sees the scaled rewards).
"""

import tensorflow as tf

from rlrun.trajectories import StepType


class RewardNormalizer(tf.Module):
  """Running count, mean and variance of per-step discounted returns; scales rewards.

  Each update accumulates returns along every row of a [B, T] batch, starting from 0 at
  the row's first step and at each FIRST step, merges their mean and variance (steps that
  are LAST, the environment's resets, are left out) into the running ones, then returns
  rewards / sqrt(variance + 1e-8) clipped to [-clip, clip].
  """

  def __init__(self, gamma: float, clip: float = 10.0, name: str = "RewardNormalizer"):
    super().__init__(name=name)
    self._gamma = float(gamma)
    self._clip = float(clip)
    self.count = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="count")
    self.mean = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="mean")
    self.variance = tf.Variable(1.0, dtype=tf.float64, trainable=False, name="variance")

  def discounted_returns(self, rewards, step_types) -> tf.Tensor:
    """[B, T] returns r_t + gamma * R_{t-1}, restarting at each row's start and FIRST step."""
    rewards = tf.convert_to_tensor(rewards, tf.float32)
    restarts = tf.equal(step_types, StepType.FIRST)
    time_major = lambda x: tf.transpose(x)
    returns = tf.scan(
        lambda previous, inputs: inputs[0] + tf.where(inputs[1], 0.0, self._gamma * previous),
        (time_major(rewards), time_major(restarts)), initializer=tf.zeros_like(rewards[:, 0]))
    return tf.transpose(returns)

  def update(self, rewards, step_types) -> None:
    """Merges the batch's returns (steps that are not LAST) into the running statistics."""
    returns = tf.cast(self.discounted_returns(rewards, step_types), tf.float64)
    counted = tf.cast(tf.not_equal(step_types, StepType.LAST), tf.float64)
    batch_count = tf.reduce_sum(counted)
    if_any = tf.maximum(batch_count, 1.0)
    batch_mean = tf.reduce_sum(counted * returns) / if_any
    batch_variance = tf.reduce_sum(counted * tf.square(returns - batch_mean)) / if_any
    total = self.count + batch_count
    delta = batch_mean - self.mean
    weight = batch_count / tf.maximum(total, 1.0)
    merged_variance = (self.variance * (1.0 - weight) + batch_variance * weight +
                       tf.square(delta) * weight * (1.0 - weight))
    keep = tf.equal(batch_count, 0.0)
    self.variance.assign(tf.where(keep, self.variance, merged_variance))
    self.mean.assign(tf.where(keep, self.mean, self.mean + delta * weight))
    self.count.assign(total)

  def normalize(self, rewards, step_types) -> tf.Tensor:
    """Updates the statistics with this batch, then returns its scaled, clipped rewards."""
    self.update(rewards, step_types)
    scale = tf.cast(tf.math.rsqrt(self.variance + 1e-8), tf.float32)
    return tf.clip_by_value(tf.convert_to_tensor(rewards, tf.float32) * scale,
                            -self._clip, self._clip)
