"""RolloutWriter: one [T + 1]-step item per environment per rollout, bootstrapped by the next time step."""

import numpy as np
import pytest
import reverb
import tensorflow as tf

from rlrun.replay_buffers import reverb_utils
from rlrun.replay_buffers.rollout_writer import RolloutWriter
from rlrun.trajectories import StepType, Trajectory, time_step as ts

ENVS, T = 2, 3


def step(t, step_type=StepType.MID, next_step_type=StepType.MID):
  """Batched step t: env i observes 10 * i + t and gets reward t."""
  return Trajectory(step_type=np.full(ENVS, step_type, np.int32),
                    observation=np.array([[10.0 * i + t] for i in range(ENVS)], np.float32),
                    action=np.full(ENVS, t, np.int64), policy_info=(),
                    next_step_type=np.full(ENVS, next_step_type, np.int32),
                    reward=np.full(ENVS, t, np.float32), discount=np.ones(ENVS, np.float32))


@pytest.fixture()
def server():
  spec = tf.nest.map_structure(lambda x: tf.TensorSpec(x.shape[1:], x.dtype), step(0))
  table = reverb.Table("rollouts", sampler=reverb.selectors.Fifo(),
                       remover=reverb.selectors.Fifo(), max_size=10, max_times_sampled=1,
                       rate_limiter=reverb.rate_limiters.MinSize(1),
                       signature=reverb_utils.table_signature(spec, T + 1, packed=False))
  server = reverb_utils.ReplayServer([table])
  yield server
  server.stop()


def test_each_environment_gets_one_item_of_t_plus_one_steps(server):
  writer = RolloutWriter(server.client, "rollouts", ENVS, T)
  for t in range(T):
    writer(step(t))
  next_time_step = ts.TimeStep(step_type=np.full(ENVS, StepType.MID, np.int32),
                               reward=np.zeros(ENVS, np.float32),
                               discount=np.ones(ENVS, np.float32),
                               observation=np.array([[10.0 * i + T] for i in range(ENVS)],
                                                    np.float32))
  writer.end_run(next_time_step)
  assert server.client.server_info()["rollouts"].current_size == ENVS
  for i in range(ENVS):
    # The Python client's sample is a list of the item's steps.
    steps = [tf.nest.pack_sequence_as(step(0), list(s.data))
             for s in next(server.client.sample("rollouts", num_samples=1))]
    # Steps 0..T-1, then the bootstrap step carrying the next time step's observation.
    assert [float(s.observation[0]) for s in steps] == [10.0 * i + t for t in range(T + 1)]
    assert [float(s.reward) for s in steps] == [0.0, 1.0, 2.0, 0.0]
  writer.close()


def test_a_rollout_of_the_wrong_length_is_refused(server):
  writer = RolloutWriter(server.client, "rollouts", ENVS, T)
  writer(step(0))
  with pytest.raises(ValueError, match="a rollout has 1 steps per environment, expected 3"):
    writer.end_run(ts.restart(np.zeros((ENVS, 1), np.float32), batch_size=ENVS))
  writer.close()
