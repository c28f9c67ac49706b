"""PolicySaver -> SavedModel -> SavedModelPyTFEagerPolicy, and loading without rlrun."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from rlrun.networks.q_network import QNetwork
from rlrun.policies.greedy_policy import GreedyPolicy
from rlrun.policies.policy_saver import PolicySaver
from rlrun.policies.py_tf_eager_policy import SPECS_FILE, SavedModelPyTFEagerPolicy
from rlrun.policies.q_policy import QPolicy
from rlrun.specs import array_spec, tensor_spec
from rlrun.trajectories import StepType, TimeStep, restart, time_step_spec

OBS_SPEC = tf.TensorSpec((3,), tf.float32, "obs")
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 3, "action")
OBSERVATIONS = (np.random.default_rng(5).normal(size=(5, 3)) * 3).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
  """(greedy policy, export dir, in-process greedy actions on OBSERVATIONS)."""
  net = QNetwork(OBS_SPEC, ACTION_SPEC, fc_layer_params=(8,),
                 kernel_initializer=tf.keras.initializers.GlorotUniform(seed=2),
                 last_kernel_initializer=tf.keras.initializers.RandomUniform(-1.0, 1.0, seed=1))
  policy = GreedyPolicy(QPolicy(time_step_spec(OBS_SPEC), ACTION_SPEC, net))
  train_step = tf.Variable(42, dtype=tf.int64)
  export_dir = str(tmp_path_factory.mktemp("saver") / "policy")
  saver = PolicySaver(policy, train_step, metadata={"env_name": "Fake-v0"})
  saver.save(export_dir)
  ts = TimeStep(tf.fill([5], StepType.FIRST), tf.zeros([5]), tf.ones([5]),
                tf.constant(OBSERVATIONS))
  actions = policy.action(ts).action.numpy()
  assert len(np.unique(actions)) > 1, "pick observations that give different actions"
  return policy, export_dir, actions


def test_saved_files_and_metadata(saved):
  _, export_dir, _ = saved
  assert os.path.isfile(os.path.join(export_dir, "saved_model.pb"))
  with open(os.path.join(export_dir, SPECS_FILE)) as f:
    metadata = json.load(f)
  assert metadata["train_step"] == 42 and metadata["env_name"] == "Fake-v0"
  assert metadata["policy_class"] == "GreedyPolicy"
  # no staging directories are left behind
  assert os.listdir(os.path.dirname(export_dir)) == ["policy"]


def test_loaded_policy_gives_identical_actions(saved):
  _, export_dir, expected = saved
  loaded = SavedModelPyTFEagerPolicy(export_dir)
  assert loaded.get_train_step() == 42
  assert loaded.metadata["env_name"] == "Fake-v0"
  assert loaded.action_spec == array_spec.BoundedArraySpec((), np.int64, 0, 3)
  assert loaded.time_step_spec.observation == array_spec.ArraySpec((3,), np.float32)
  assert loaded.get_initial_state() == ()
  actions = [loaded.action(restart(obs)).action for obs in OBSERVATIONS]
  assert all(np.shape(a) == () for a in actions)
  np.testing.assert_array_equal(actions, expected)
  batched = SavedModelPyTFEagerPolicy(export_dir, batch_time_steps=False)
  np.testing.assert_array_equal(batched.action(restart(OBSERVATIONS, batch_size=5)).action,
                                expected)


def test_save_replaces_an_existing_export(saved, tmp_path):
  policy, _, expected = saved
  export_dir = str(tmp_path / "policy")
  PolicySaver(policy, tf.Variable(1, dtype=tf.int64)).save(export_dir)
  PolicySaver(policy, tf.Variable(7, dtype=tf.int64)).save(export_dir)
  assert SavedModelPyTFEagerPolicy(export_dir).get_train_step() == 7
  assert sorted(os.listdir(tmp_path)) == ["policy"]


def test_loading_rejects_non_policy_directories(tmp_path):
  with pytest.raises(ValueError, match="no saved_model.pb"):
    SavedModelPyTFEagerPolicy(str(tmp_path))
  (tmp_path / "saved_model.pb").write_bytes(b"")
  with pytest.raises(ValueError, match=f"no {SPECS_FILE}"):
    SavedModelPyTFEagerPolicy(str(tmp_path))


def test_signature_works_without_rlrun(saved):
  _, export_dir, expected = saved
  code = textwrap.dedent(f"""
      import os, sys
      os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
      import numpy as np
      import tensorflow as tf
      obs = np.array({OBSERVATIONS.tolist()!r}, np.float32)
      loaded = tf.saved_model.load({export_dir!r})
      out = loaded.signatures["action"](
          step_type=tf.zeros([5], tf.int32), reward=tf.zeros([5], tf.float32),
          discount=tf.ones([5], tf.float32), observation=tf.constant(obs))
      print("ACTIONS", " ".join(str(a) for a in out["action"].numpy()))
      print("TRAIN_STEP", int(loaded.signatures["get_train_step"]()["output_0"]))
      assert "rlrun" not in sys.modules, sorted(m for m in sys.modules if "rlrun" in m)
      """)
  env = dict(os.environ)
  env.pop("PYTHONPATH", None)
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(export_dir), env=env, timeout=120)
  assert result.returncode == 0, result.stderr[-3000:]
  lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
  np.testing.assert_array_equal([int(a) for a in lines["ACTIONS"].split()], expected)
  assert lines["TRAIN_STEP"] == "42"
