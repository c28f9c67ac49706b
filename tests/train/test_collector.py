"""Collector: initial random collection hands over to the collect policy cleanly."""

import numpy as np
import pytest

from rlrun import configs


@pytest.mark.parametrize("replay", ["local", "reverb"])
def test_no_item_spans_the_random_episode_and_the_first_collected_one(built_experiment,
                                                                       replay):
  """Initial collection ends mid-episode; the collect policy starts a new one, and the
  writer drops the random episode's tail instead of joining the two in one item."""
  with built_experiment([f"train.Experiment.replay = '{replay}'",
                         "train.Experiment.initial_collect_steps = 7",
                         "train.Experiment.num_iterations = 64",
                         "train.Experiment.num_eval_episodes = 1"]) as experiment:
    experiment.initial_collect()  # 7 steps: CartPole episodes last longer at random
    experiment.collector.run(steps=5)
    experiment.observer.flush()
    if replay == "local":
      step_types = experiment.replay_buffer.sample(64, count=4).step_type.reshape(-1, 2)
    else:
      client = experiment.replay_buffer.py_client
      codec = experiment.replay_buffer.codec
      step_types = np.stack([codec.decode_numpy(s.data[0]).step_type for s in client.sample(
          "uniform_table", num_samples=64, emit_timesteps=False)])
    assert (step_types[:, 1] != 0).all()  # no item's second step starts an episode
    assert experiment.replay_buffer.num_frames() == 6 + 4  # 7 - 1 random, 5 - 1 collected


def test_a_collecting_process_runs_numpy_blas_on_one_thread(tmp_path):
  """The numpy policy's small matmuls gain nothing from BLAS threads, which would spin
  against TensorFlow's train step (rlrun/utils/blas_threads.py)."""
  import threadpoolctl
  from rlrun.train.experiment import Experiment

  def blas_threads():
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas"]

  configs.parse(configs.resolve("dqn_cartpole"), ["train.Experiment.replay = 'local'"])
  threadpoolctl.threadpool_limits(limits=2, user_api="blas")
  assert blas_threads() and max(blas_threads()) == 2  # the machine (2 cores) allows 2
  experiment = Experiment(root_dir=str(tmp_path / "run"))
  experiment.build()
  try:
    assert blas_threads() and set(blas_threads()) == {1}
  finally:
    experiment.close()
