"""Triggers, Checkpointer, evaluation, Progress and StopRequest."""

import io
import os
import signal
import time

import numpy as np
import pytest
import tensorflow as tf

from rlrun.environments import py_environment
from rlrun.policies.py_policy import PyPolicy
from rlrun.specs import array_spec
from rlrun.train.checkpointer import Checkpointer
from rlrun.train import evaluation
from rlrun.train.evaluation import evaluate
from rlrun.train.interrupts import StopRequest
from rlrun.train.progress import Progress
from rlrun.train.triggers import IntervalTrigger
from rlrun.trajectories import PolicyStep, restart, termination, transition

# --- IntervalTrigger -------------------------------------------------------------------


def test_interval_trigger_fires_on_crossing_multiples():
  calls = []
  trigger = IntervalTrigger(5, lambda: calls.append(1))
  assert trigger.interval == 5
  assert [trigger(3), trigger(5), trigger(10)] == [False, True, True]
  assert len(calls) == 2
  assert not trigger(14)  # 10 -> 14 crosses nothing
  assert trigger(16)  # 14 -> 16 crosses 15
  assert not trigger(16)
  assert trigger(16, force=True) and len(calls) == 4
  trigger.reset(0)
  assert trigger(5) and len(calls) == 5
  trigger.reset(12)
  assert not trigger(14) and trigger(23)  # 12 -> 23 crosses 15 and 20: fires once
  assert len(calls) == 6


def test_interval_trigger_start_step_and_validation():
  calls = []
  trigger = IntervalTrigger(10, lambda: calls.append(1), start_step=25)
  assert not trigger(29) and trigger(30) and calls == [1]
  with pytest.raises(ValueError, match="interval must be >= 1, got 0"):
    IntervalTrigger(0, lambda: None)


# --- Checkpointer ----------------------------------------------------------------------


def test_checkpointer_round_trip_and_pruning(tmp_path):
  directory = str(tmp_path / "checkpoints")
  variable = tf.Variable([1.0, 2.0])
  step = tf.Variable(0, dtype=tf.int64)
  checkpointer = Checkpointer(directory, max_to_keep=2, model=variable, train_step=step)
  assert checkpointer.restore() == (None, {})
  for i in (10, 20, 30):
    variable.assign([float(i), -float(i)])
    step.assign(i)
    path = checkpointer.save(i, {"returns": [i, i + 0.5], "rng": "state-%d" % i})
    assert path.endswith(f"ckpt-{i}")
  states = sorted(n for n in os.listdir(directory) if n.startswith("state-"))
  assert states == ["state-20.json", "state-30.json"]
  assert len([n for n in os.listdir(directory) if n.endswith(".index")]) == 2
  assert checkpointer.latest.endswith("ckpt-30")

  restored_var = tf.Variable([0.0, 0.0])
  restored_step = tf.Variable(0, dtype=tf.int64)
  restorer = Checkpointer(directory, max_to_keep=2, model=restored_var, train_step=restored_step)
  step_number, state = restorer.restore()
  assert step_number == 30
  assert state == {"returns": [30, 30.5], "rng": "state-30"}
  np.testing.assert_array_equal(restored_var.numpy(), [30.0, -30.0])
  assert int(restored_step.numpy()) == 30


def test_checkpointer_without_state(tmp_path):
  variable = tf.Variable(3)
  checkpointer = Checkpointer(str(tmp_path), model=variable)
  checkpointer.save(1)
  variable.assign(0)
  assert checkpointer.restore() == (1, {})
  assert int(variable.numpy()) == 3


# --- evaluation ------------------------------------------------------------------------

OBS_SPEC = array_spec.ArraySpec((), np.float32, "t")
ACTION_SPEC = array_spec.BoundedArraySpec((), np.int32, 0, 1, "action")


class FixedLengthEnv(py_environment.PyEnvironment):
  """Episodes of `length` steps; every step pays `reward`. Observation: step index."""

  def __init__(self, length, reward=1.0):
    super().__init__()
    self._length, self._reward, self._t = length, reward, 0
    self.num_resets = 0

  def observation_spec(self):
    return OBS_SPEC

  def action_spec(self):
    return ACTION_SPEC

  def _reset(self):
    self._t = 0
    self.num_resets += 1
    return restart(np.float32(0))

  def _step(self, action):
    assert action.shape == () and action.dtype == np.int32
    self._t += 1
    if self._t >= self._length:
      return termination(np.float32(self._t), self._reward)
    return transition(np.float32(self._t), self._reward)


class RecordingPolicy(PyPolicy):
  """Always action 0; records the batch size of every call."""

  def __init__(self):
    super().__init__(None, ACTION_SPEC)
    self.batch_sizes = []

  def _action(self, time_step, policy_state):
    batch = time_step.observation.shape[0]
    self.batch_sizes.append(batch)
    return PolicyStep(np.zeros(batch, np.int32), policy_state, ())


def test_evaluate_average_return_of_fixed_episodes():
  envs = [FixedLengthEnv(5), FixedLengthEnv(5)]
  result = evaluate(envs, RecordingPolicy(), num_episodes=2)
  assert result == {"AverageReturn": 5.0, "AverageEpisodeLength": 5.0, "NumEpisodes": 2}


def test_evaluate_runs_in_waves_with_envs_in_lockstep():
  envs = [FixedLengthEnv(2, reward=1.0), FixedLengthEnv(4, reward=0.5)]
  policy = RecordingPolicy()
  result = evaluate(envs, policy, num_episodes=3)
  # wave 1: env0 (return 2, length 2) and env1 (return 2, length 4); wave 2: env0 only.
  assert result["NumEpisodes"] == 3
  assert result["AverageReturn"] == pytest.approx((2.0 + 2.0 + 2.0) / 3)
  assert result["AverageEpisodeLength"] == pytest.approx((2 + 4 + 2) / 3)
  assert policy.batch_sizes == [2, 2, 1, 1, 1, 1]
  assert envs[0].num_resets == 2 and envs[1].num_resets == 1


class CountingStatePolicy(PyPolicy):
  """Stateful: the state is a per-env [steps, steps] counter; records the states it gets."""

  def __init__(self, width):
    super().__init__(None, ACTION_SPEC,
                     policy_state_spec=array_spec.ArraySpec((width,), np.int64, "count"))
    self.seen = []

  def _action(self, time_step, policy_state):
    self.seen.append(np.asarray(policy_state).tolist())
    batch = time_step.observation.shape[0]
    return PolicyStep(np.zeros(batch, np.int32), policy_state + 1, ())


@pytest.mark.parametrize("width", [1, 2])
def test_evaluate_threads_each_envs_policy_state(width):
  policy = CountingStatePolicy(width)
  result = evaluate([FixedLengthEnv(2), FixedLengthEnv(3)], policy, num_episodes=2)
  assert result["AverageReturn"] == 2.5
  assert policy.seen == [[[0] * width] * 2, [[1] * width] * 2, [[2] * width]]


def test_results_log_round_trip_leaves_a_half_written_line_for_later(tmp_path):
  assert evaluation.read_results(tmp_path) == []
  first = {"step": 0, "AverageReturn": 9.5, "AverageEpisodeLength": 9.0}
  evaluation.append_result(tmp_path, first)
  with open(evaluation.results_path(tmp_path), "a") as f:
    f.write('{"step": 100, "AverageRet')  # another process is writing it right now
  assert evaluation.read_results(tmp_path) == [first]
  assert evaluation.describe(first) == ("step 0: eval AverageReturn = 9.5, "
                                        "AverageEpisodeLength = 9.0")


def test_evaluate_rejects_zero_episodes():
  with pytest.raises(ValueError, match="num_episodes must be >= 1, got 0"):
    evaluate([FixedLengthEnv(2)], RecordingPolicy(), 0)



class PaysTheActionEnv(FixedLengthEnv):
  """Episodes of 50 steps; each step pays the action taken (0 or 1)."""

  def __init__(self):
    super().__init__(50)

  def _step(self, action):
    time_step = super()._step(action)
    return time_step._replace(reward=np.float32(action))


def test_a_reseeded_evaluation_reseeds_the_policys_random_actions(tmp_path):
  from rlrun.policies.epsilon_greedy_py_policy import EpsilonGreedyPyPolicy
  policy = EpsilonGreedyPyPolicy(RecordingPolicy(), 0.5, seed=123)
  evaluator = evaluation.Evaluator(str(tmp_path), [PaysTheActionEnv(), PaysTheActionEnv()],
                                   policy, num_episodes=2, reseed=9)
  first, again = evaluator.run(10), evaluator.run(10)
  # Half the actions are random, half of those are 1: about 12.5 of 50 steps pay 1.
  assert 3 <= first["AverageReturn"] <= 22
  assert again["AverageReturn"] == first["AverageReturn"]
  others = {evaluator.run(iteration)["AverageReturn"] for iteration in (20, 30, 40)}
  assert others != {first["AverageReturn"]}

# --- Progress --------------------------------------------------------------------------


def test_progress_non_live_logs_on_crossing_intervals():
  stream = io.StringIO()
  progress = Progress(total=100, log_interval=10, stream=stream, live=False)
  progress.update(5)
  assert stream.getvalue() == ""
  progress.update(12)
  progress.update(15)
  progress.loss = 0.25
  progress.eval_return = 12.34
  progress.update(20)
  progress.update(100)
  lines = stream.getvalue().splitlines()
  assert len(lines) == 3
  assert lines[0].startswith("step  12/100 | ") and "loss - | eval return -" in lines[0]
  assert lines[1].startswith("step  20/100 | ") and "loss 0.25 | eval return 12.3" in lines[1]
  assert lines[2].startswith("step 100/100 | ") and "eta 0:00:00" in lines[2]
  assert "\r" not in stream.getvalue()
  progress.message("evaluated: 12.3")
  assert stream.getvalue().endswith("\nevaluated: 12.3\n")
  progress.close()
  assert stream.getvalue().endswith("evaluated: 12.3\n")


def test_progress_defaults_to_non_live_for_non_terminals():
  stream = io.StringIO()
  progress = Progress(total=10, start_step=4, log_interval=5, stream=stream)
  progress.update(6)  # 4 -> 6 crosses 5
  assert stream.getvalue().startswith("step  6/10 | ")


def test_progress_live_bar_fits_the_width_labels_losses_and_keeps_messages(monkeypatch):
  monkeypatch.setenv("COLUMNS", "80")
  stream = io.StringIO()
  progress = Progress(total=1000, stream=stream, live=True)
  progress.loss = {"loss": 1.25, "critic": 0.5, "actor": -3.25, "alpha": 0.001}
  progress.eval_return = -150.25
  for step in range(0, 1001, 250):
    progress.update(step)
  progress.message("step 500: eval AverageReturn = 1.0")
  progress.close()
  drawn = stream.getvalue().replace("\r", "\n").split("\n")
  assert max(len(line) for line in drawn) <= 80
  assert any(line.startswith("step 1000/1000 100%|") for line in drawn)
  assert "step 500: eval AverageReturn = 1.0" in drawn
  wide = io.StringIO()
  monkeypatch.setenv("COLUMNS", "200")
  progress = Progress(total=10, stream=wide, live=True)
  progress.loss = {"loss": 1.25, "critic": 0.5, "actor": -3.25}
  progress.update(10)
  progress.close()
  assert "loss 1.25 (critic 0.5, actor -3.25) | eval return -" in wide.getvalue()


def test_plain_lines_label_each_loss_the_agent_names():
  import collections
  from rlrun.agents.tf_agent import LossInfo
  from rlrun.train.learner import Learner
  Extra = collections.namedtuple("Extra", "critic_loss actor_loss q_value td_error")
  info = LossInfo(np.float32(1.5), Extra(np.float32(1.0), np.float32(0.5), np.float32(7.0),
                                         np.zeros(4, np.float32)))
  losses = Learner.loss_value(info)
  assert losses == {"loss": 1.5, "critic": 1.0, "actor": 0.5}  # *_loss scalars only
  stream = io.StringIO()
  progress = Progress(total=10, log_interval=5, stream=stream, live=False)
  progress.loss = losses
  progress.update(5)
  assert "| loss 1.5 (critic 1, actor 0.5) | eval return - |" in stream.getvalue()


# --- StopRequest -----------------------------------------------------------------------


def _wait_for(predicate, seconds=2.0):
  deadline = time.monotonic() + seconds
  while not predicate() and time.monotonic() < deadline:
    time.sleep(0.01)
  return predicate()


def test_stop_request_on_sigterm_and_handler_restored():
  previous_term = signal.getsignal(signal.SIGTERM)
  previous_int = signal.getsignal(signal.SIGINT)
  with StopRequest() as stop:
    assert not stop.requested
    os.kill(os.getpid(), signal.SIGTERM)
    assert _wait_for(lambda: stop.requested)
    assert stop.signal_name == "SIGTERM"
  assert signal.getsignal(signal.SIGTERM) is previous_term
  assert signal.getsignal(signal.SIGINT) is previous_int


def test_second_sigint_raises_keyboard_interrupt():
  previous_int = signal.getsignal(signal.SIGINT)
  with pytest.raises(KeyboardInterrupt):
    with StopRequest() as stop:
      os.kill(os.getpid(), signal.SIGINT)
      assert _wait_for(lambda: stop.requested) and stop.signal_name == "SIGINT"
      os.kill(os.getpid(), signal.SIGINT)
      _wait_for(lambda: False, seconds=2.0)
  assert signal.getsignal(signal.SIGINT) is previous_int
