"""train.Experiment.intra_op_threads: a single-process run's TensorFlow thread split.

TensorFlow fixes the split when its runtime starts, so each case runs `rlrun train`'s
training function in a fresh Python process and reports the split it ended with.
"""

import subprocess
import sys

_CHILD = """
import sys
import tensorflow as tf
from rlrun.commands.train import run_training
from rlrun.utils.tf_threads import set_intra_op_threads
code = run_training("dqn_cartpole.gin", sys.argv[1], ["train.Experiment.num_iterations = 2",
                    "train.Experiment.initial_collect_steps = 10", *sys.argv[2:]])
print("exit", code, "threads", tf.config.threading.get_intra_op_parallelism_threads())
set_intra_op_threads(3)  # too late: the runtime started with the run's split
print("after", tf.config.threading.get_intra_op_parallelism_threads())
"""


def run_child(tmp_path, *bindings):
  child = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "run"), *bindings],
                         capture_output=True, text=True, timeout=600,  # hang guard only
                         cwd=tmp_path)  # not the checkout: import rlrun as installed
  assert child.returncode == 0, child.stderr[-3000:]
  return child


def test_a_run_trains_with_the_thread_split_it_asks_for_and_it_stays(tmp_path):
  child = run_child(tmp_path, "train.Experiment.intra_op_threads = 1")
  assert "exit 0 threads 1\n" in child.stdout
  assert "after 1\n" in child.stdout
  assert "intra_op_threads = 3 not applied" in child.stderr


def test_without_the_setting_tensorflow_keeps_its_default_split(tmp_path):
  child = run_child(tmp_path)
  assert "exit 0 threads 0\n" in child.stdout  # 0: TensorFlow's one thread per core


def test_fast_leaves_a_core_to_the_collecting_thread(tmp_path):
  from rlrun.train.settings import fast_learner_threads
  child = run_child(tmp_path, "train.Experiment.fast = True")
  assert f"exit 0 threads {fast_learner_threads()}\n" in child.stdout
