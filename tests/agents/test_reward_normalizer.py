"""RewardNormalizer: discounted returns, running statistics and scaled rewards by hand."""

import numpy as np
import tensorflow as tf

from rlrun.agents.reward_normalizer import RewardNormalizer
from rlrun.trajectories import StepType

F, M, L = StepType.FIRST, StepType.MID, StepType.LAST


def test_returns_restart_at_each_first_step():
  normalizer = RewardNormalizer(gamma=0.5)
  returns = normalizer.discounted_returns([[1.0, 2.0, 0.0, 3.0, 4.0]], [[F, M, L, F, M]])
  # 1, 2 + 0.5, 0 + 1.25 (the reset step), then a new episode: 3, 4 + 1.5.
  np.testing.assert_allclose(returns.numpy(), [[1.0, 2.5, 1.25, 3.0, 5.5]])


def test_statistics_merge_batches_as_one_and_leave_out_reset_steps():
  normalizer = RewardNormalizer(gamma=0.5)
  normalizer.update([[1.0, 2.0, 0.0, 3.0]], [[F, M, L, F]])
  # Returns 1, 2.5, (1.25 at the reset, left out), 3.
  np.testing.assert_allclose([normalizer.mean.numpy(), normalizer.variance.numpy()],
                             [np.mean([1.0, 2.5, 3.0]), np.var([1.0, 2.5, 3.0])])
  normalizer.update([[4.0, -2.0], [0.5, 1.0]], [[M, M], [F, M]])
  # Rows start from 0: 4, -2 + 2 = 0; 0.5, 1.25.
  seen = [1.0, 2.5, 3.0, 4.0, 0.0, 0.5, 1.25]
  np.testing.assert_allclose(
      [normalizer.count.numpy(), normalizer.mean.numpy(), normalizer.variance.numpy()],
      [7, np.mean(seen), np.var(seen)], rtol=1e-12)


def test_rewards_are_divided_by_the_return_spread_and_clipped():
  normalizer = RewardNormalizer(gamma=0.0, clip=10.0)
  rewards = np.array([[1.0, -1.0] * 100 + [1000.0]])
  scaled = normalizer.normalize(rewards, [[F] + [M] * 200]).numpy()
  std = np.std(rewards)  # gamma 0: the returns are the rewards; 1000 / std is about 14
  np.testing.assert_allclose(scaled[0, :2], [1.0 / std, -1.0 / std], rtol=1e-5)
  assert scaled[0, -1] == 10.0


def test_an_empty_batch_leaves_the_statistics_alone():
  normalizer = RewardNormalizer(gamma=0.9)
  normalizer.update([[2.0, 4.0]], [[F, M]])
  before = [normalizer.mean.numpy(), normalizer.variance.numpy()]
  normalizer.update([[5.0]], [[L]])
  assert [normalizer.mean.numpy(), normalizer.variance.numpy()] == before


def test_a_checkpoint_restores_the_statistics(tmp_path):
  normalizer = RewardNormalizer(gamma=0.9)
  normalizer.update([[2.0, 4.0, -1.0]], [[F, M, M]])
  path = tf.train.Checkpoint(normalizer=normalizer).write(str(tmp_path / "ckpt"))
  restored = RewardNormalizer(gamma=0.9)
  tf.train.Checkpoint(normalizer=restored).read(path).assert_consumed()
  assert [v.numpy() for v in restored.variables] == [v.numpy() for v in normalizer.variables]
