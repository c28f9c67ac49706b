"""The ReplayBuffer interface: argument checks, missing hooks, and the Reverb subclass."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.replay_buffers.replay_buffer import BufferInfo, ReplayBuffer
from rlrun.replay_buffers.reverb_replay_buffer import ReverbReplayBuffer
from rlrun.replay_buffers.reverb_utils import (ReplayServer, ReverbAddTrajectoryObserver,
                                               make_table)
from rlrun.specs import array_spec
from rlrun.trajectories import StepType, Trajectory

SPEC = Trajectory(step_type=array_spec.ArraySpec((), np.int32, "step_type"),
                  observation=array_spec.ArraySpec((1,), np.float32, "observation"),
                  action=array_spec.ArraySpec((), np.int64, "action"), policy_info=(),
                  next_step_type=array_spec.ArraySpec((), np.int32, "step_type"),
                  reward=array_spec.ArraySpec((), np.float32, "reward"),
                  discount=array_spec.ArraySpec((), np.float32, "discount"))


def test_base_class_names_the_missing_hook_and_checks_arguments():
  buffer = ReplayBuffer(SPEC, capacity=10)
  assert buffer.data_spec is SPEC and buffer.capacity == 10
  for call, what in [(lambda: buffer.add_batch(None), "add_batch"),
                     (lambda: buffer.get_next(), "get_next"),
                     (lambda: buffer.as_dataset(), "as_dataset"),
                     (lambda: buffer.as_dataset(single_deterministic_pass=True),
                      "single_deterministic_pass"),
                     (buffer.gather_all, "gather_all"), (buffer.clear, "clear"),
                     (buffer.num_frames, "num_frames")]:
    with pytest.raises(NotImplementedError, match=f"ReplayBuffer does not implement.*{what}"):
      call()
  with pytest.raises(ValueError, match="num_steps=0 must be an int >= 1"):
    buffer.get_next(num_steps=0)
  with pytest.raises(ValueError, match="sample_batch_size=2.5"):
    buffer.as_dataset(sample_batch_size=2.5)
  with pytest.raises(ValueError, match="capacity=-1"):
    ReplayBuffer(SPEC, capacity=-1)
  assert BufferInfo(ids=1, probabilities=0.5)._fields == ("ids", "probabilities")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
  srv = ReplayServer([make_table("replay", SPEC, 2, max_size=50, packed=False)],
                     checkpoint_dir=str(tmp_path_factory.mktemp("replay_base")))
  observer = ReverbAddTrajectoryObserver(srv.client, "replay", sequence_length=2)
  for t in range(4):
    observer(Trajectory(step_type=np.int32(StepType.FIRST if t == 0 else StepType.MID),
                        observation=np.array([t], np.float32), action=np.int64(t),
                        policy_info=(), next_step_type=np.int32(StepType.MID),
                        reward=np.float32(1.0), discount=np.float32(1.0)))
  observer.flush()
  observer.close()
  yield srv
  srv.stop()


def test_reverb_buffer_is_a_replay_buffer_that_only_reads(server):
  buffer = ReverbReplayBuffer(SPEC, "replay", 2, local_server=server)
  assert isinstance(buffer, ReplayBuffer) and isinstance(buffer, tf.Module)
  assert buffer.capacity == 50 and buffer.num_frames() == 3
  with pytest.raises(NotImplementedError, match="ReverbAddTrajectoryObserver"):
    buffer.add_batch(None)
  with pytest.raises(NotImplementedError, match="cannot gather_all"):
    buffer.gather_all()
  trajectory, info = buffer.get_next(sample_batch_size=3, num_steps=2)
  obs = trajectory.observation.numpy()
  assert obs.shape == (3, 2, 1) and np.all(obs[:, 1] == obs[:, 0] + 1)
  assert info.key.shape == (3,)  # reverb.SampleInfo, as from as_dataset
  buffer.clear()
  assert buffer.num_frames() == 0
