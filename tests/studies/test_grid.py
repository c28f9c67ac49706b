"""Sweep grids: parsed --param lists, their product and the points' directory names."""

from rlrun.studies.grid import grid, parse_param, short_names

LR = "tf.keras.optimizers.Adam.learning_rate"


def test_the_grid_is_the_product_with_the_first_param_varying_slowest():
  points = grid([parse_param(f"{LR}=[1e-3, 1e-2]"),
                 parse_param("agents.DqnAgent.gamma=[0.9, 0.99]")])
  assert [p.name for p in points] == [
      "learning_rate=1e-3,gamma=0.9", "learning_rate=1e-3,gamma=0.99",
      "learning_rate=1e-2,gamma=0.9", "learning_rate=1e-2,gamma=0.99"]
  assert points[1].gin_params() == [f"{LR}=1e-3", "agents.DqnAgent.gamma=0.99"]
  assert points[2].as_dict() == {LR: "1e-2", "agents.DqnAgent.gamma": "0.9"}


def test_names_keep_as_many_parts_as_tell_bindings_apart():
  assert short_names(["actor/Adam.learning_rate", "critic/Adam.learning_rate", "a.gamma"]) == {
      "actor/Adam.learning_rate": "actor.Adam.learning_rate",
      "critic/Adam.learning_rate": "critic.Adam.learning_rate", "a.gamma": "gamma"}


def test_values_that_clash_once_made_safe_get_numbered_directories():
  points = grid([("env.name", ["'a b'", "'ab'"])])
  assert [p.name for p in points] == ["000-name=ab", "001-name=ab"]
  assert [p.gin_params() for p in points] == [["env.name='a b'"], ["env.name='ab'"]]
