import numpy as np
import tensorflow as tf

from rlrun.analysis.event_files import read_scalars


def test_reads_the_scalars_tf_summary_wrote_and_skips_the_rest(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    for step in (0, 5, 10):
      tf.summary.scalar("losses/loss", 0.5 * step, step=step)
      tf.summary.scalar("metrics/EnvironmentSteps", tf.constant(step * 3, tf.int64), step=step)
      tf.summary.histogram("weights", np.arange(10.0), step=step)
      tf.summary.text("note", "hello", step=step)
    tf.summary.scalar("losses/loss", 99.0, step=5)  # a resumed run writes step 5 again
  writer.close()
  scalars = read_scalars(tmp_path)
  assert sorted(scalars) == ["losses/loss", "metrics/EnvironmentSteps"]
  assert [(step, value) for step, _, value in scalars["losses/loss"]] == [
      (0, 0.0), (5, 99.0), (10, 5.0)]
  assert [value for _, _, value in scalars["metrics/EnvironmentSteps"]] == [0.0, 15.0, 30.0]


def test_a_truncated_last_record_is_left_for_the_next_read(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    tf.summary.scalar("x", 1.0, step=1)
    tf.summary.scalar("x", 2.0, step=2)
  writer.close()
  (path,) = tmp_path.glob("events.out.tfevents.*")
  path.write_bytes(path.read_bytes()[:-7])
  assert [value for _, _, value in read_scalars(tmp_path)["x"]] == [1.0]
