"""The synthetic study the analysis tests share."""

import pytest

from run_dirs import make_run


@pytest.fixture
def study(tmp_path):
  """Two configs: 'a.gin' with 4 seeds, 'b.gin' with 2, evaluated at steps 0, 10, 20."""
  a = [{0: 0.0, 10: 10.0 * s, 20: 100.0 + s} for s in range(4)]
  b = [{0: 5.0, 10: 50.0, 20: 60.0}, {0: 5.0, 10: 70.0, 20: 80.0}]
  for seed, returns in enumerate(a):
    make_run(tmp_path / "study" / f"a-seed{seed}", "a.gin", seed, returns,
             bindings=[f"train.Experiment.seed = {seed}", "tf.keras.optimizers.Adam."
                       f"learning_rate={'0.01' if seed % 2 else '0.001'}"],
             env_steps_per_step=4)
  for seed, returns in enumerate(b):
    make_run(tmp_path / "study" / "b" / f"seed{seed}", "b.gin", seed, returns)
  return tmp_path / "study"
