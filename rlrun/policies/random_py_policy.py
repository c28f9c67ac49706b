"""Numpy policies that ignore observations: uniform random actions and scripted actions.

`RandomPyPolicy` draws uniform actions from a (nested) action spec; it is what
collects the first experience before a learner has trained anything.
`ScriptedPyPolicy` replays a fixed list of (num_repeats, action) pairs, which makes
environment and driver behaviour reproducible in tests and demos.
"""

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import tree

from rlrun.policies import py_policy
from rlrun.specs import array_spec
from rlrun.trajectories import policy_step, time_step as ts


def _check_action_spec(action_spec: Any, owner: str) -> None:
  leaves = tree.flatten(action_spec)
  if not leaves or not all(isinstance(s, array_spec.ArraySpec) for s in leaves):
    raise TypeError(f"{owner} needs action_spec to be a nest of ArraySpec/BoundedArraySpec, "
                    f"got {action_spec!r}; build it with rlrun.specs.array_spec.")


class RandomPyPolicy(py_policy.PyPolicy):
  """Returns uniformly random actions from `action_spec`, ignoring the time step.

  Integer specs are drawn uniformly from [minimum, maximum] inclusive, float specs
  uniformly from [minimum, maximum) (see `array_spec.sample_spec_nest` for unbounded
  specs). Actions get outer (batch) dims in this order of precedence: `outer_dims`
  when given; else the shape of `time_step.step_type` (so a batched time step of
  batch B yields actions shaped [B, ...]); else none.

  Args:
    time_step_spec: the TimeStep spec; may be None, since time steps are ignored.
    action_spec: a nest of (Bounded)ArraySpecs.
    seed: seeds the policy's own np.random.Generator (None: fresh entropy).
    outer_dims: fixed outer dims for every action, e.g. (batch_size,).
    policy_state_spec: passed through; the state given to action() is returned.
  """

  def __init__(self, time_step_spec: Optional[ts.TimeStep], action_spec: Any,
               seed: Optional[int] = None, outer_dims: Optional[Sequence[int]] = None,
               policy_state_spec: Any = ()):
    _check_action_spec(action_spec, "RandomPyPolicy")
    super().__init__(time_step_spec, action_spec, policy_state_spec=policy_state_spec)
    if outer_dims is not None:
      outer_dims = tuple(int(d) for d in outer_dims)
      if any(d < 0 for d in outer_dims):
        raise ValueError(f"outer_dims {outer_dims} has a negative dim; use sizes >= 0.")
    self._outer_dims = outer_dims
    self._rng = np.random.default_rng(seed)

  @property
  def outer_dims(self) -> Optional[Tuple[int, ...]]:
    return self._outer_dims

  def _action(self, time_step: Optional[ts.TimeStep],
              policy_state: Any) -> policy_step.PolicyStep:
    outer = self._outer_dims
    if outer is None:
      outer = () if time_step is None else np.shape(time_step.step_type)
    action = array_spec.sample_spec_nest(self._action_spec, self._rng, outer_dims=outer)
    return policy_step.PolicyStep(action=action, state=policy_state, info=())


ActionScript = Sequence[Tuple[int, Any]]


def _convert(spec: array_spec.ArraySpec, value: Any) -> np.ndarray:
  """`value` as an array of the spec's dtype; raises ValueError if that changes it."""
  raw = np.asarray(value)
  converted = raw.astype(spec.dtype)
  if raw.shape != converted.shape or not np.array_equal(raw, converted):
    raise ValueError(f"{value!r} is not exactly representable as {spec.dtype}")
  return converted


class ScriptedPyPolicy(py_policy.PyPolicy):
  """Plays back `action_script`, a list of (num_repeats, action) pairs, in order.

  Each action is returned num_repeats times before the next entry is used; entries
  with num_repeats == 0 are skipped. The policy state is the list
  [entry_index, repeats_done_of_that_entry]: get_initial_state() returns [0, 0] and
  restarts the script (an empty state () is treated the same way). Asking for an
  action after the script is used up raises ValueError.

  Args:
    time_step_spec: the TimeStep spec; may be None, since time steps are ignored.
    action_spec: a nest of (Bounded)ArraySpecs; every scripted action is converted to
      its dtypes and checked against it. None skips the checks.
    action_script: the (num_repeats, action) pairs.
  """

  def __init__(self, time_step_spec: Optional[ts.TimeStep], action_spec: Any,
               action_script: ActionScript):
    if action_spec is not None:
      _check_action_spec(action_spec, "ScriptedPyPolicy")
    super().__init__(time_step_spec, action_spec,
                     policy_state_spec=array_spec.ArraySpec((2,), np.int32, "script_position"))
    self._action_script = self._validate_script(action_script, action_spec)

  @staticmethod
  def _validate_script(action_script: ActionScript, action_spec: Any) -> List[Tuple[int, Any]]:
    if not action_script:
      raise ValueError(f"action_script {action_script!r} is empty; give a list of "
                       "(num_repeats, action) pairs.")
    script = []
    for i, entry in enumerate(action_script):
      if not isinstance(entry, (tuple, list)) or len(entry) != 2:
        raise ValueError(f"action_script[{i}] = {entry!r} is not a (num_repeats, action) pair.")
      num_repeats, action = entry
      if isinstance(num_repeats, bool) or not isinstance(num_repeats, (int, np.integer)) \
          or num_repeats < 0:
        raise ValueError(f"action_script[{i}] has num_repeats={num_repeats!r}; use an int >= 0 "
                         "(0 skips the entry).")
      if action_spec is None:
        action = tree.map_structure(np.asarray, action)
      else:
        try:
          action = tree.map_structure_up_to(action_spec, _convert, action_spec, action)
        except (ValueError, TypeError) as e:
          raise ValueError(f"action_script[{i}] action {action!r} does not match action_spec "
                           f"{action_spec!r}: {e}") from e
        if not array_spec.check_arrays_nest(action, action_spec):
          raise ValueError(f"action_script[{i}] action {action!r} does not fit action_spec "
                           f"{action_spec!r} (shape or bounds); fix the script or the spec.")
      script.append((int(num_repeats), action))
    return script

  @property
  def action_script(self) -> List[Tuple[int, Any]]:
    return list(self._action_script)

  def _get_initial_state(self, batch_size: Any) -> List[int]:
    del batch_size  # A script is one sequence of actions; it has no batch.
    return [0, 0]

  def _action(self, time_step: Optional[ts.TimeStep],
              policy_state: Any) -> policy_step.PolicyStep:
    del time_step  # Scripted actions do not depend on observations.
    if policy_state is None or len(policy_state) == 0:
      policy_state = self._get_initial_state(None)
    if len(policy_state) != 2:
      raise ValueError(f"ScriptedPyPolicy state {policy_state!r} is not [entry_index, "
                       "repeats_done]; start from get_initial_state().")
    index, done = int(policy_state[0]), int(policy_state[1])
    while index < len(self._action_script) and done >= self._action_script[index][0]:
      index, done = index + 1, 0
    if index >= len(self._action_script):
      raise ValueError(f"ScriptedPyPolicy ran out of actions: the script has "
                       f"{len(self._action_script)} entries and all were played; make the script "
                       "longer, end episodes sooner (e.g. a time limit), or reset the state "
                       "with get_initial_state().")
    action = tree.map_structure(np.copy, self._action_script[index][1])
    return policy_step.PolicyStep(action=action, state=[index, done + 1], info=())
