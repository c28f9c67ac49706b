"""Every shipped config's builder honours the runner's contract.

Build, collect, train one group, checkpoint, restore to the same weights, export the
policies, run the exported greedy policy in a process that never imports rlrun, and export
it (one config per agent and network kind) to TFLite and ONNX files whose runtimes reproduce
its actions without TensorFlow.
"""

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gin
import numpy as np
import pytest

from rlrun import configs
from rlrun.commands.export import export

SHIPPED = sorted(p.name for p in (Path(__file__).parents[2] / "gin_configs").glob("*.gin"))
# One config per agent and network kind: its greedy policy is exported to both formats.
EXPORTED = {"dqn_cartpole.gin", "c51_cartpole.gin", "ppo_cartpole.gin", "ppo_pendulum.gin",
            "sac_pendulum.gin", "td3_pendulum.gin", "dqn_atari100k.gin"}
SMALL = ["train.Experiment.initial_collect_steps = 40", "train.Experiment.batch_size = 16",
         "train.Experiment.num_eval_episodes = 1", "train.Experiment.iterations_per_call = 4"]
# On-policy configs: rollouts of 64 steps in minibatches of 16, no random steps.
SMALL_ON_POLICY = ["train.Experiment.collect_steps_per_iteration = 64",
                   "train.Experiment.batch_size = 16", "train.Experiment.num_eval_episodes = 1"]

RUN_WITHOUT_RLRUN = textwrap.dedent("""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    action = loaded.signatures["action"]
    _, inputs = action.structured_input_signature
    out = action(**{name: tf.zeros([3] + spec.shape.as_list()[1:], spec.dtype)
                    for name, spec in inputs.items()})
    assert "rlrun" not in sys.modules
    print(json.dumps({"shape": out["action"].shape.as_list(),
                      "train_step": int(loaded.get_train_step().numpy())}))
    """)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_builder_builds_collects_trains_checkpoints_restores_and_exports(tmp_path, name):
  from rlrun.builders.builder import LoopKind
  from rlrun.train.experiment import Experiment
  on_policy = name.startswith("ppo_")
  configs.parse(configs.resolve(name), SMALL_ON_POLICY if on_policy else SMALL)
  root = tmp_path / "run"
  experiment = Experiment(root_dir=str(root))
  try:
    experiment.build()
    assert configs.unused_bindings() == []
    assert (experiment.parts.builder.loop_kind is LoopKind.ON_POLICY) == on_policy
    if on_policy:
      # A rollout into the queue (an item per environment), one update that takes it.
      experiment.collector.run()
      assert experiment.replay_buffer.num_frames() == experiment.settings.collect_parallel_envs
      experiment.learner.train(1)
      assert experiment.replay_buffer.num_frames() == 0
      for _ in range(3):
        experiment.collector.run()
        experiment.learner.train(1)
    else:
      experiment.initial_collect()
      assert experiment.replay_buffer.num_frames() > 0
      experiment.collector.run(4)
      experiment.learner.train(4 * experiment.settings.train_steps_per_iteration)
    experiment.parts.sync_iteration()
    assert experiment.iteration == 4
    variables = experiment.agent.variables
    trained = [v.numpy().copy() for v in variables]
    experiment.save_checkpoint()
    for v in variables:
      v.assign(np.zeros(v.shape, v.dtype.as_numpy_dtype))
    assert experiment.restore() == 4
    for v, value in zip(variables, trained):
      np.testing.assert_array_equal(v.numpy(), value)
    experiment.policy_trigger.save()
  finally:
    experiment.close()
    gin.clear_config()
  exported = sorted(os.listdir(root / "policies"))
  assert {"policy", "collect_policy"} <= set(exported)
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  result = subprocess.run([sys.executable, "-c", RUN_WITHOUT_RLRUN, str(root / "policies" / "policy")],
                          capture_output=True, text=True, cwd=str(tmp_path), env=env,
                          timeout=300)  # a hang guard, not a timing check
  assert result.returncode == 0, result.stderr[-3000:]
  out = json.loads(result.stdout.strip().splitlines()[-1])
  assert out["shape"][0] == 3
  assert out["train_step"] == 4 * experiment.settings.train_steps_per_iteration
  for fmt in ("tflite", "onnx") if name in EXPORTED else ():
    report = io.StringIO()
    export(None, str(root / "policies" / "policy"), None, fmt, str(tmp_path / f"policy.{fmt}"),
           samples=200, out=report)
    assert "in a fresh process without TensorFlow or rlrun" in report.getvalue(), report.getvalue()
    assert (tmp_path / f"policy.{fmt}").stat().st_size > 0
