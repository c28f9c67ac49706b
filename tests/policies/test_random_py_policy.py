"""RandomPyPolicy and ScriptedPyPolicy."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tree

from rlrun.policies import random_py_policy
from rlrun.specs import array_spec
from rlrun.trajectories import PolicyStep
from rlrun.trajectories import time_step as ts

INT_SPEC = array_spec.BoundedArraySpec((2,), np.int32, -10, 10)


def test_tutorial_random_policy_without_time_step_spec():
  policy = random_py_policy.RandomPyPolicy(time_step_spec=None, action_spec=INT_SPEC)
  step = policy.action(None)
  assert isinstance(step, PolicyStep) and step.state == () and step.info == ()
  assert step.action.shape == (2,) and step.action.dtype == np.int32
  assert repr(step).startswith("PolicyStep(action=array([")
  assert repr(step).endswith("], dtype=int32), state=(), info=())")


def test_int_bounds_are_inclusive_and_respected():
  policy = random_py_policy.RandomPyPolicy(None, INT_SPEC, seed=1, outer_dims=(3000,))
  actions = policy.action(None).action
  assert actions.shape == (3000, 2) and actions.dtype == np.int32
  assert actions.min() == -10 and actions.max() == 10
  assert len(np.unique(actions)) == 21


def test_float_bounds_per_dimension():
  spec = array_spec.BoundedArraySpec((3,), np.float32, [-1.0, 0.0, 5.0], [1.0, 0.5, 6.0])
  actions = random_py_policy.RandomPyPolicy(None, spec, seed=2, outer_dims=(500,)).action(
      None).action
  assert actions.dtype == np.float32 and actions.shape == (500, 3)
  assert np.all(actions >= spec.minimum) and np.all(actions <= spec.maximum)
  assert np.all(actions.max(axis=0) - actions.min(axis=0) > 0.8 * (spec.maximum - spec.minimum))


def test_nested_specs_keep_their_structure():
  spec = {"move": array_spec.BoundedArraySpec((2, 2), np.float64, -2.0, 2.0),
          "pick": (array_spec.BoundedArraySpec((), np.int64, 0, 3),
                   array_spec.BoundedArraySpec((4,), np.uint8, 1, 2))}
  action = random_py_policy.RandomPyPolicy(None, spec, seed=3).action(None).action
  tree.assert_same_structure(action, spec)
  assert array_spec.check_arrays_nest(action, spec)


def test_batch_dims_follow_the_time_step_unless_outer_dims_given():
  obs_spec = array_spec.ArraySpec((4,), np.float32)
  tss = ts.time_step_spec(obs_spec)
  policy = random_py_policy.RandomPyPolicy(tss, INT_SPEC, seed=0)
  unbatched = ts.restart(np.zeros((4,), np.float32))
  batched = ts.restart(np.zeros((5, 4), np.float32), batch_size=5)
  assert policy.action(unbatched).action.shape == (2,)
  assert policy.action(batched).action.shape == (5, 2)
  fixed = random_py_policy.RandomPyPolicy(tss, INT_SPEC, seed=0, outer_dims=[3])
  assert fixed.outer_dims == (3,)
  assert fixed.action(batched).action.shape == (3, 2)
  assert fixed.action(None).action.shape == (3, 2)


def test_seed_determinism_and_state_passthrough():
  def draws(seed):
    policy = random_py_policy.RandomPyPolicy(None, INT_SPEC, seed=seed)
    return np.stack([policy.action(None).action for _ in range(20)])
  np.testing.assert_array_equal(draws(7), draws(7))
  assert not np.array_equal(draws(7), draws(8))
  assert len({tuple(x) for x in draws(7)}) > 1  # successive draws differ
  policy = random_py_policy.RandomPyPolicy(None, INT_SPEC, seed=7)
  assert policy.action(None, policy_state="s").state == "s"


def test_random_policy_rejects_non_specs():
  with pytest.raises(TypeError, match="nest of ArraySpec"):
    random_py_policy.RandomPyPolicy(None, (2,))
  with pytest.raises(TypeError, match="nest of ArraySpec"):
    random_py_policy.RandomPyPolicy(None, None)
  with pytest.raises(ValueError, match="outer_dims"):
    random_py_policy.RandomPyPolicy(None, INT_SPEC, outer_dims=(-1,))


TUTORIAL_SCRIPT = [(1, np.array([5, 2], dtype=np.int32)),
                   (0, np.array([0, 0], dtype=np.int32)),
                   (2, np.array([1, 2], dtype=np.int32)),
                   (1, np.array([3, 4], dtype=np.int32))]


def _scripted(script=TUTORIAL_SCRIPT, spec=INT_SPEC):
  return random_py_policy.ScriptedPyPolicy(time_step_spec=None, action_spec=spec,
                                           action_script=script)


def test_scripted_policy_tutorial_sequence():
  policy = _scripted()
  step = policy.action(None, policy.get_initial_state())
  printed = [repr(step)]
  step = policy.action(None, step.state)
  printed.append(repr(step))
  step = policy.action(None, step.state)
  printed.append(repr(step))
  printed.append(repr(policy.action(None, policy.get_initial_state())))
  assert printed == [
      "PolicyStep(action=array([5, 2], dtype=int32), state=[0, 1], info=())",
      "PolicyStep(action=array([1, 2], dtype=int32), state=[2, 1], info=())",
      "PolicyStep(action=array([1, 2], dtype=int32), state=[2, 2], info=())",
      "PolicyStep(action=array([5, 2], dtype=int32), state=[0, 1], info=())",
  ]


def test_scripted_policy_runs_out_and_restarts():
  policy = _scripted()
  state, actions = (), []  # () counts as the initial state
  for _ in range(4):
    step = policy.action(None, state)
    actions.append(step.action.tolist())
    state = step.state
  assert actions == [[5, 2], [1, 2], [1, 2], [3, 4]]
  with pytest.raises(ValueError, match="ran out of actions"):
    policy.action(None, state)
  assert policy.action(None, policy.get_initial_state()).action.tolist() == [5, 2]


def test_scripted_actions_are_converted_and_copied():
  policy = _scripted([(2, [1, -1])])
  action = policy.action(None).action
  assert action.dtype == np.int32 and action.tolist() == [1, -1]
  action[0] = 9  # mutating a returned action must not change the script
  assert policy.action(None).action.tolist() == [1, -1]
  untyped = random_py_policy.ScriptedPyPolicy(None, None, [(1, 3)])
  assert untyped.action(None).action == 3


@pytest.mark.parametrize("script, message", [
    ([], "empty"),
    ([(-1, [0, 0])], "num_repeats=-1"),
    ([(1.5, [0, 0])], "num_repeats=1.5"),
    ([(1, [0, 0], 3)], "not a"),
    ([(1, [11, 0])], "does not fit"),
    ([(1, [0, 0, 0])], "does not fit"),
    ([(1, [0.5, 0])], "not exactly representable as int32"),
    ([(1, ([0, 0], [0, 0]))], "does not fit"),
])
def test_scripted_policy_validates_the_script(script, message):
  with pytest.raises(ValueError, match=message):
    _scripted(script)


def test_scripted_policy_checks_nested_actions():
  spec = {"move": INT_SPEC, "grip": array_spec.BoundedArraySpec((), np.float32, 0.0, 1.0)}
  policy = _scripted([(1, {"move": [1, 2], "grip": 0.5})], spec)
  action = policy.action(None).action
  assert action["move"].dtype == np.int32 and action["grip"].dtype == np.float32
  with pytest.raises(ValueError, match="does not match action_spec"):
    _scripted([(1, [1, 2])], spec)


def test_scripted_policy_rejects_a_malformed_state():
  with pytest.raises(ValueError, match="entry_index"):
    _scripted().action(None, [0, 0, 0])


def test_modules_do_not_import_tensorflow():
  code = ("import sys; sys.path.insert(0, sys.argv[1]); "
          "import rlrun.policies.random_py_policy, rlrun.drivers.py_driver, "
          "rlrun.metrics.py_metrics; print('tensorflow' in sys.modules)")
  root = str(pathlib.Path(__file__).resolve().parents[2])
  out = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True,
                       check=True)
  assert out.stdout.strip() == "False"
