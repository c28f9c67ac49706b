import pytest

from rlrun.errors import UserError
from rlrun.studies.seeds import parse_seeds


@pytest.mark.parametrize("text, seeds", [
    ("0-4", [0, 1, 2, 3, 4]), ("3", [3]), ("0,2,7", [0, 2, 7]), ("0-2,10", [0, 1, 2, 10]),
    ("5,1-2,2", [5, 1, 2]), (" 4 - 4 ".replace(" ", ""), [4])])
def test_seed_lists(text, seeds):
  assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, message", [
    ("3-1", "goes down; write 1-3"), ("-1", "write seeds as"), ("a", "write seeds as"),
    ("1,,2", "write seeds as"), ("", "write seeds as"), ("1-2-3", "write seeds as")])
def test_bad_seed_lists(text, message):
  with pytest.raises(UserError, match=message):
    parse_seeds(text)


def test_seed_lists_are_bounded_and_fast():
  with pytest.raises(UserError, match="at most 10000 seeds"):
    parse_seeds("0-9999999")
  with pytest.raises(UserError, match="each below 2\\*\\*31"):
    parse_seeds("999999999999")
  many = ",".join(str(s) for s in range(10000))  # one part each: de-duplicated linearly
  assert parse_seeds(many) == list(range(10000))
  assert parse_seeds("0-5000,0-5000") == list(range(5001))  # distinct seeds are counted
  with pytest.raises(UserError, match="at most 10000 seeds"):
    parse_seeds(many + ",10000")
