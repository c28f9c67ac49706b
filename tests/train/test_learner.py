"""Learner: groups of any size run the same compiled program and exactly their steps."""

import pytest


@pytest.mark.parametrize("replay", ["local", "reverb"])
def test_partial_groups_train_their_own_steps_on_the_one_compiled_program(built_experiment,
                                                                          replay):
  with built_experiment([f"train.Experiment.replay = '{replay}'",
                         "train.Experiment.iterations_per_call = 8",
                         "train.Experiment.num_iterations = 64",
                         "train.Experiment.num_eval_episodes = 1"]) as experiment:
    experiment.initial_collect()
    learner = experiment.learner
    done = []
    for steps in (8, 3, 5, 11):  # whole groups, partial groups, and both in one call
      learner.train(steps)
      done.append(learner.train_step_numpy)
    assert done == [8, 11, 16, 27]
    # Every group, padded or not, ran the one traced (so one XLA-compiled) program.
    assert learner._train_many.experimental_get_tracing_count() == 1  # pylint: disable=protected-access
