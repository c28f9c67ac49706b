"""The replay-server, actor and evaluator roles in one process, with weights pushed by hand."""

import io
import json

import gin
import numpy as np
import pytest

from rlrun import configs
from rlrun.distributed.actor_role import CollectActor
from rlrun.distributed.evaluator_role import DistributedEvaluator
from rlrun.distributed.policy_weights import policy_variables
from rlrun.distributed.replay_role import ReplayServerRole
from rlrun.distributed.settings import VARIABLE_TABLE, Settings
from rlrun.distributed.status import StatusWriter
from rlrun.distributed.variable_container import VariableContainer
from rlrun.builders.builder import TABLE_NAME
from rlrun.distributed.evaluator_role import due

BINDINGS = ["train.Experiment.initial_collect_steps = 40",
            "train.Experiment.num_iterations = 1000",
            "train.Experiment.eval_interval = 500",
            "train.Experiment.num_eval_episodes = 2",
            "train.Experiment.eval_parallel_envs = 2"]


@pytest.fixture
def server(tmp_path):
  configs.parse(configs.resolve("dqn_cartpole.gin"), BINDINGS)
  role = ReplayServerRole(None, str(tmp_path), settings=Settings(),
                          out=io.StringIO())
  role.build()
  yield role
  role.close()
  gin.clear_config()


def push(server, step: int, scale: float = 0.0) -> None:
  """Publishes weights for `step` as the learner would (its own agent's, scaled)."""
  weights = [np.asarray(v.numpy()) * scale for v in policy_variables(server.parts.agent)]
  container = VariableContainer(server.server.client, VARIABLE_TABLE, timeout_s=5)
  container.push(weights, step)
  container.close()


def test_the_server_checks_its_rate_limit_and_serves_both_tables(server):
  info = server.server.client.server_info(timeout=5)
  assert set(info) == {TABLE_NAME, VARIABLE_TABLE}
  limiter = info[TABLE_NAME].rate_limiter_info
  # dqn_cartpole: batch 64 x 1 train step / 1 collect step; sampling starts at 64 items.
  assert limiter.samples_per_insert == 64.0 and limiter.min_size_to_sample == 64
  assert limiter.max_diff - limiter.min_diff == 2 * 64 * 500  # drift of 500 inserts each way


def test_an_actor_collects_the_initial_share_then_stops_at_its_step_limit(server, tmp_path):
  address = f"localhost:{server.server.port}"
  push(server, step=0)
  settings = Settings(actor_max_steps=150, variable_pull_interval=50)
  actor = CollectActor(None, address, task_id=1, num_tasks=2,
                       settings=settings, root_dir=str(tmp_path), out=io.StringIO())
  try:
    actor.build()
    assert actor.run() == "reached its step/episode limit"
  finally:
    actor.close()
  # 20 random steps (its half of 40), then policy steps in runs of 50 until >= 150.
  assert actor.env_steps == 170
  status = json.loads((tmp_path / "status" / "actor_1.json").read_text())
  assert status["state"] == "stopped" and status["env_steps"] == 170
  size = server.server.client.server_info(timeout=5)[TABLE_NAME].current_size
  assert 150 <= size <= 170  # one 2-step item per step, less the episodes' first steps


def test_an_actor_stops_when_the_learner_has_finished(server):
  push(server, step=1000)  # num_iterations
  actor = CollectActor(None, f"localhost:{server.server.port}",
                       settings=Settings(), out=io.StringIO())
  try:
    actor.build()
    assert actor.run() == "the learner finished (1000 steps)"
  finally:
    actor.close()


def test_the_evaluator_evaluates_at_each_interval_crossing_and_at_the_end(server, tmp_path):
  evaluator = DistributedEvaluator(str(tmp_path), f"localhost:{server.server.port}",
                                   Settings())
  try:
    evaluator.build()
    for step in (0, 120, 480, 520, 990):
      push(server, step, scale=1.0)
      pulled = evaluator.weights.pull()
      assert pulled == step
      if due(pulled, evaluator.evaluator.last_step, 1000, 500):
        earlier = list(evaluator.evaluator.results)
        evaluator._keep_best(evaluator.evaluator.run(pulled), earlier)
    # The actors' status files say how many env steps they collected: the last evaluation
    # (made by run()) records their sum, as a single-process run records its own.
    for name, steps in (("actor_0", 700), ("actor_1", 650), ("learner", 5)):
      StatusWriter(str(tmp_path), name).write(force=True, env_steps=steps)
    push(server, 1000, scale=1.0)
    assert evaluator.run() == "finished"
  finally:
    evaluator.close()
  results = [json.loads(l) for l in (tmp_path / "eval" / "results.jsonl").read_text()
             .splitlines()]
  assert [r["step"] for r in results] == [0, 520, 1000]
  assert "env_steps" not in results[0] and results[-1]["env_steps"] == 1350
  # policies/best: the weights of the first evaluation with the highest return.
  returns = [r["AverageReturn"] for r in results]
  best = json.loads((tmp_path / "policies" / "best" / "rlrun_best.json").read_text())
  assert best == {"step": results[returns.index(max(returns))]["step"],
                  "AverageReturn": max(returns)}
  assert (tmp_path / "policies" / "best" / "saved_model.pb").is_file()
