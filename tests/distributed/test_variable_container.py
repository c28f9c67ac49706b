"""The variable table and VariableContainer against real local Reverb servers."""

import time
import types

import numpy as np
import pytest
import reverb
import tensorflow as tf

from rlrun.distributed import connection
from rlrun.distributed.policy_weights import PolicyWeights
from rlrun.distributed.variable_container import (PushTimeout, VariableContainer,
                                                  VariablesNotReady, make_variable_table)
from rlrun.errors import UserError

VARIABLES = [tf.Variable(tf.zeros([3, 4])), tf.Variable(tf.zeros([4])),
             tf.Variable(tf.zeros([], tf.int32))]


def weights(seed: int):
  rng = np.random.default_rng(seed)
  return [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32),
          np.int32(seed)]


@pytest.fixture
def server():
  srv = reverb.Server([make_variable_table("policy", VARIABLES)])
  yield srv
  srv.stop()


def container(srv, timeout_s=2.0):
  client = connection.connect(f"localhost:{srv.port}", timeout_s=1)
  return VariableContainer(client, "policy", timeout_s=timeout_s)


def test_the_variable_table_holds_one_item_of_the_weights():
  info = make_variable_table("policy", VARIABLES).info
  assert info.max_size == 1 and info.max_times_sampled == 0
  assert info.sampler_options.WhichOneof("distribution") == "fifo"
  assert info.remover_options.WhichOneof("distribution") == "fifo"
  assert info.rate_limiter_info.min_size_to_sample == 1
  assert info.signature == {"step": tf.TensorSpec([], tf.int64),
                            "weights": [tf.TensorSpec([3, 4], tf.float32),
                                        tf.TensorSpec([4], tf.float32),
                                        tf.TensorSpec([], tf.int32)]}


def test_push_then_pull_gives_back_the_newest_weights_and_step(server):
  variables = container(server)
  try:
    variables.push(weights(1), step=10)
    pulled, step = variables.pull()
    assert step == 10
    for got, want in zip(pulled, weights(1)):
      assert got.dtype == np.asarray(want).dtype and np.array_equal(got, want)
    variables.push(weights(2), step=20)
    pulled, step = variables.pull()
    assert step == 20 and np.array_equal(pulled[0], weights(2)[0])
    assert server.localhost_client().server_info(timeout=1)["policy"].current_size == 1
  finally:
    variables.close()


def test_pull_on_an_empty_table_times_out_then_gets_the_first_push(server):
  variables = container(server)
  start = time.monotonic()
  with pytest.raises(VariablesNotReady) as error:
    variables.pull(timeout_s=0.3)
  assert time.monotonic() - start < 30  # a hang guard, not a speed claim
  assert "'policy'" in str(error.value) and f"localhost:{server.port}" in str(error.value)
  assert "not pushed" in str(error.value)
  variables.push(weights(3), step=30)
  assert variables.pull(timeout_s=2)[1] == 30
  variables.close()


def test_push_rejects_arrays_that_do_not_match_the_table(server):
  variables = container(server)
  with pytest.raises(ValueError, match="got 2 arrays .* holds 3 variables"):
    variables.push(weights(1)[:2], step=1)
  bad = weights(1)
  bad[1] = bad[1].astype(np.float64)
  with pytest.raises(ValueError, match=r"weights\[1\] is float64\[4\] .* float32\[4\]"):
    variables.push(bad, step=1)
  bad = weights(1)
  bad[0] = bad[0].T
  with pytest.raises(ValueError, match=r"weights\[0\] is float32\[4, 3\]"):
    variables.push(bad, step=1)


def test_a_table_that_is_missing_or_not_a_variable_table_is_a_user_error():
  replay = reverb.Table("replay", sampler=reverb.selectors.Uniform(),
                        remover=reverb.selectors.Fifo(), max_size=10,
                        rate_limiter=reverb.rate_limiters.MinSize(1),
                        signature=tf.TensorSpec([2], tf.float32))
  srv = reverb.Server([replay])
  try:
    client = connection.connect(f"localhost:{srv.port}", timeout_s=1)
    with pytest.raises(UserError, match="no variable table 'policy' .it has replay."):
      VariableContainer(client, "policy")
    with pytest.raises(UserError, match="'replay' .* is not a variable table"):
      VariableContainer(client, "replay")
  finally:
    srv.stop()


def test_a_stopped_server_makes_pull_and_push_fail_within_their_timeouts():
  srv = reverb.Server([make_variable_table("policy", VARIABLES)])
  variables = container(srv, timeout_s=0.3)
  variables.push(weights(1), step=1)
  srv.stop()
  start = time.monotonic()
  with pytest.raises(connection.ServerUnreachable, match=f"localhost:{srv.port}"):
    variables.pull()
  assert time.monotonic() - start < 30  # a hang guard, not a speed claim
  start = time.monotonic()
  with pytest.raises(PushTimeout, match="step 2"):
    variables.push(weights(2), step=2)
  assert time.monotonic() - start < 30  # a hang guard, not a speed claim
  assert connection.is_unavailable(PushTimeout("x"))
  variables.close()


def test_policy_weights_give_up_on_a_silent_server_once_asked_to_stop():
  srv = reverb.Server([make_variable_table("policy", VARIABLES)])
  variables = container(srv, timeout_s=0.3)
  policy_vars = [tf.Variable(tf.zeros([3, 4])), tf.Variable(tf.zeros([4])),
                 tf.Variable(tf.zeros([], tf.int32))]
  agent = types.SimpleNamespace(collect_policy=types.SimpleNamespace(variables=policy_vars))
  train_step = tf.Variable(0, dtype=tf.int64)
  weights_of = PolicyWeights(variables, agent, train_step, grace_s=600.0)
  variables.push(weights(3), step=3)
  assert weights_of.pull() == 3 and int(train_step.numpy()) == 3
  np.testing.assert_array_equal(policy_vars[0].numpy(), weights(3)[0])
  srv.stop()
  asked = []  # a stop request arriving while the dead server is retried (SIGTERM in a role)
  start = time.monotonic()
  with pytest.raises(connection.Cancelled, match="pulling policy weights: stopped waiting"):
    weights_of.pull(should_stop=lambda: asked.append(1) or len(asked) >= 2)
  assert time.monotonic() - start < 300  # a hang guard: the grace period is 600 s
  assert len(asked) == 2
  variables.close()
