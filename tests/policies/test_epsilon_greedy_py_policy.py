"""EpsilonGreedyPyPolicy: random actions at rate epsilon around any numpy policy, seeded."""

import numpy as np
import pytest

from rlrun.policies.epsilon_greedy_py_policy import EpsilonGreedyPyPolicy
from rlrun.policies.py_policy import PyPolicy
from rlrun.specs import array_spec
from rlrun.trajectories import PolicyStep, restart

DISCRETE = array_spec.BoundedArraySpec((), np.int32, 0, 3)
BOX = array_spec.BoundedArraySpec((2,), np.float32, -2.0, 2.0)


class ConstantPolicy(PyPolicy):
  """Always `value`, for every element of the batch; counts its updates."""

  def __init__(self, spec, value):
    super().__init__(None, spec)
    self.value, self.updates = value, 0

  def update(self):
    self.updates += 1

  def _action(self, time_step, policy_state):
    batch = np.shape(time_step.step_type)
    return PolicyStep(np.full(batch + self.action_spec.shape, self.value,
                              self.action_spec.dtype), policy_state, ())


def batch_of(size):
  return restart(np.zeros([size, 1], np.float32), batch_size=size)


def test_epsilon_zero_follows_the_policy_and_one_is_uniform():
  greedy = EpsilonGreedyPyPolicy(ConstantPolicy(DISCRETE, 2), 0.0, seed=1)
  assert (greedy.action(batch_of(1000)).action == 2).all()
  uniform = EpsilonGreedyPyPolicy(ConstantPolicy(DISCRETE, 2), 1.0, seed=1)
  actions = uniform.action(batch_of(8000)).action
  assert actions.dtype == np.int32 and actions.shape == (8000,)
  counts = np.bincount(actions, minlength=4) / 8000
  assert counts == pytest.approx([0.25] * 4, abs=0.03)


def test_the_rate_of_random_actions_is_epsilon():
  policy = EpsilonGreedyPyPolicy(ConstantPolicy(DISCRETE, 0), 0.2, seed=3)
  actions = np.concatenate([policy.action(batch_of(100)).action for _ in range(200)])
  # A random action is one of the 3 others with probability 3/4.
  assert np.mean(actions != 0) == pytest.approx(0.2 * 3 / 4, abs=0.015)


def test_bounded_continuous_actions_stay_in_bounds():
  policy = EpsilonGreedyPyPolicy(ConstantPolicy(BOX, 0.5), 0.5, seed=0)
  actions = policy.action(batch_of(2000)).action
  assert actions.shape == (2000, 2) and actions.dtype == np.float32
  random = actions[(actions != 0.5).any(axis=1)]
  assert 800 < len(random) < 1200  # whole actions are replaced, both dims at once
  assert (random >= -2.0).all() and (random <= 2.0).all()


def test_the_same_seed_draws_the_same_actions_and_seed_restarts():
  make = lambda: EpsilonGreedyPyPolicy(ConstantPolicy(DISCRETE, 1), 0.5, seed=7)
  first, second = make(), make()
  a = [first.action(batch_of(10)).action for _ in range(5)]
  assert all((x == second.action(batch_of(10)).action).all() for x in a)
  first.seed(7)
  assert (first.action(batch_of(10)).action == a[0]).all()
  other = EpsilonGreedyPyPolicy(ConstantPolicy(DISCRETE, 1), 0.5, seed=8)
  assert any((x != other.action(batch_of(10)).action).any() for x in a)


def test_update_reaches_the_wrapped_policy():
  inner = ConstantPolicy(DISCRETE, 0)
  EpsilonGreedyPyPolicy(inner, 0.1).update()
  assert inner.updates == 1


@pytest.mark.parametrize("epsilon", [-0.1, 1.5])
def test_epsilon_outside_zero_one_is_refused(epsilon):
  with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
    EpsilonGreedyPyPolicy(ConstantPolicy(DISCRETE, 0), epsilon)
