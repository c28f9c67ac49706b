import optuna
import pytest

from rlrun.errors import UserError
from rlrun.studies.spaces import Space, literal, parse_space, parse_spaces

LR = "tf.keras.optimizers.Adam.learning_rate"


@pytest.mark.parametrize("text, space", [
    (f"{LR}=loguniform(1e-5, 1e-2)", Space(LR, "loguniform", 1e-5, 1e-2)),
    ("agents.DqnAgent.gamma = uniform(0.9,0.999)", Space("agents.DqnAgent.gamma", "uniform",
                                                         0.9, 0.999)),
    ("train.Experiment.batch_size=int(32, 256)", Space("train.Experiment.batch_size", "int",
                                                       32, 256)),
    ("a.b=choice([1, 'x, y', @f, (1, 2)])", Space("a.b", "choice",
                                                  choices=("1", "'x, y'", "@f", "(1, 2)"))),
])
def test_spaces_as_written(text, space):
  assert parse_space(text) == space


@pytest.mark.parametrize("text, message", [
    ("a.b", "write BINDING=KIND"), ("a b=int(1, 2)", "write BINDING=KIND"),
    ("a.b=normal(0, 1)", "must be one of int"), ("a.b=[1, 2]", "must be one of int"),
    ("a.b=int(1)", r"write a.b=int\(LOW, HIGH\)"), ("a.b=int(1, 2, 3)", "write a.b=int"),
    ("a.b=int(1.5, 3)", "is not an integer"), ("a.b=uniform(x, 3)", "is not a number"),
    ("a.b=uniform(1, inf)", "must be finite"), ("a.b=uniform(2, 1)", "LOW must be below HIGH"),
    ("a.b=int(3, 3)", "LOW must be below HIGH"), ("a.b=loguniform(0, 1)", "needs LOW > 0"),
    ("a.b=choice(1, 2)", r"write a.b=choice\(\[v1"), ("a.b=choice([])", "needs values"),
    ("a.b=choice([1,,2])", "needs values"), ("a.b=choice([1, 1])", "lists a value twice"),
    ("a.b=choice([1, (2])", "unbalanced"),
])
def test_bad_spaces(text, message):
  with pytest.raises(UserError, match=message):
    parse_space(text)


def test_spaces_need_one_each():
  with pytest.raises(UserError, match="at least one --space"):
    parse_spaces([])
  with pytest.raises(UserError, match="a.b is given twice"):
    parse_spaces(["a.b=int(1, 2)", "a.b=uniform(0, 1)"])


def test_drawn_values_are_gin_literals_in_range_and_probes_cover_the_ends():
  spaces = parse_spaces([f"{LR}=loguniform(1e-5, 1e-2)", "a.n=int(2, 9)",
                         "a.g=uniform(0.5, 0.75)", "a.c=choice([@f, 'x'])"])
  study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
  for _ in range(20):
    trial = study.ask()
    values = [s.suggest(trial) for s in spaces]
    assert 1e-5 <= float(values[0]) <= 1e-2 and float(values[0]) == trial.params[LR]
    assert values[1] == str(int(values[1])) and 2 <= int(values[1]) <= 9
    assert 0.5 <= float(values[2]) <= 0.75
    assert values[3] in ("@f", "'x'")
    study.tell(trial, 0.0)
  assert [[s.probe(i) for s in spaces] for i in range(3)] == [
      ["1e-05", "2", "0.5", "@f"], ["0.01", "9", "0.75", "'x'"], ["1e-05", "2", "0.5", "@f"]]
  assert literal(0.1 + 0.2) == "0.30000000000000004" and literal(7) == "7"
  assert spaces[0].describe() == "loguniform(1e-05, 0.01)"
  assert spaces[1].describe() == "int(2, 9)" and spaces[3].describe() == "choice([@f, 'x'])"
