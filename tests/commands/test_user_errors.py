"""Every user mistake: one line on stderr, exit code 2, existing runs untouched."""

import shutil

import pytest

from cli_helpers import rlrun, snapshot
from rlrun import cli


def run_in_process(capsys, *args):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(list(args))
  captured = capsys.readouterr()
  return exit_info.value.code, captured.err


def assert_one_line_error(code, err, *fragments):
  assert code == 2
  lines = [l for l in err.splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith("rlrun: error: "), err
  for fragment in fragments:
    assert fragment in lines[0]


@pytest.mark.parametrize("args, fragments", [
    (["train", "--config", "nope"], ["unknown config 'nope'", "dqn_cartpole.gin"]),
    (["train"], ["Missing option '--config'", "rlrun train --help"]),
    (["train", "--conf", "x"], ["No such option", "--config"]),
    (["eval", "--episodes", "3"], ["--root-dir", "--policy"]),
    (["eval", "--root-dir", "x", "--epsilon", "2"], ["--epsilon must be a probability in [0, 1]"]),
    (["eval", "--root-dir", "x", "--epsilon", "often"], ["--epsilon", "often"]),
])
def test_usage_mistakes(capsys, args, fragments):
  assert_one_line_error(*run_in_process(capsys, *args), *fragments)


@pytest.mark.parametrize("flags, other", [
    (["--actors", "1"], "--actors"), (["--gpu"], "--gpu"), (["--deterministic"], "--deterministic"),
])
def test_fast_refuses_what_cannot_run_in_one_overlapped_process(capsys, tmp_path, flags, other):
  root = tmp_path / "run"
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(root), "--fast", *flags)
  assert_one_line_error(code, err, f"--fast and {other} cannot be combined", "drop one of the two")
  assert not root.exists()


@pytest.mark.parametrize("binding, fragments", [
    ("train.Experiment.deterministic=True", ["train.Experiment.fast (--fast)",
                                             "drop --fast or --deterministic"]),
    ("replay.make_table.sampler='prioritized'", ["samples uniformly", "and --fast"]),
    ("train.Experiment.strategy='mirrored'", ["train.Experiment.fast (--fast)",
                                              "default strategy only"]),
])
def test_fast_refuses_settings_it_cannot_run_with(capsys, tmp_path, binding, fragments):
  root = tmp_path / "run"
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(root), "--gin-param", "train.Experiment.fast=True",
                             "--gin-param", binding)
  assert_one_line_error(code, err, *fragments)
  assert not root.exists()


def test_gin_syntax_error_names_file_and_line(capsys, tmp_path):
  config = tmp_path / "broken.gin"
  config.write_text("train.Experiment.num_iterations = 5\ntrain.Experiment.batch_size == 3\n")
  code, err = run_in_process(capsys, "train", "--config", str(config), "--root-dir",
                             str(tmp_path / "run"))
  assert_one_line_error(code, err, str(config), "line 2")
  assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("binding, fragments", [
    ("networks.QNetwork.fc_layer_parms=(3,)", ["fc_layer_parms"]),
    ("agents.NoSuchAgent.gamma=1.0", ["agents.NoSuchAgent"]),
    ("somewhere/agents.DqnAgent.gamma=0.5", ["nothing uses", "somewhere/agents.DqnAgent.gamma"]),
    ("suite_gym.load.environment_name='CartPol-v0'", ["unknown gym environment id 'CartPol-v0'",
                                                      "CartPole-v0"]),
    ("train.Experiment.batch_size=0", ["batch_size must be >= 1"]),
    ("train.Experiment.eval_epsilon=1.5", ["eval_epsilon must be a probability in [0, 1]"]),
])
def test_bad_bindings_fail_before_anything_is_written(capsys, tmp_path, binding, fragments):
  root = tmp_path / "run"
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(root), "--gin-param", binding)
  assert_one_line_error(code, err, *fragments)
  assert not root.exists()


def test_existing_run_of_another_config_is_left_alone(capsys, smoke_run, tmp_path):
  root, _ = smoke_run
  other = tmp_path / "other.gin"
  other.write_text((root / "config.gin").read_text())
  before = snapshot(root)
  code, err = run_in_process(capsys, "train", "--config", str(other), "--root-dir", str(root))
  assert_one_line_error(code, err, "holds a run of config 'dqn_cartpole.gin'")
  assert snapshot(root) == before


def test_bad_binding_on_an_existing_run_changes_nothing(capsys, smoke_run):
  root, _ = smoke_run
  before = snapshot(root)
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(root), "--gin-param", "scope/agents.DqnAgent.gamma=0.5")
  assert_one_line_error(code, err, "started with another config",
                        "scope/agents.DqnAgent.gamma: (unset) -> 0.5", "--allow-config-change")
  assert snapshot(root) == before
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole.gin", "--root-dir",
                             str(root), "--gin-param", "scope/agents.DqnAgent.gamma=0.5",
                             "--allow-config-change")
  assert_one_line_error(code, err, "nothing uses")
  assert snapshot(root) == before  # logs and the replay included


def test_gpu_flag_without_a_gpu(monkeypatch, tmp_path):
  monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # No GPU, even on a machine that has one.
  root = tmp_path / "run"
  result = rlrun("train", "--config", "dqn_cartpole.gin", "--gpu", "--root-dir", str(root))
  assert_one_line_error(result.returncode, result.stderr, "no GPU is visible to TensorFlow",
                        "--gpu")
  assert not root.exists()


def test_root_dir_that_is_a_file_or_a_foreign_directory(capsys, tmp_path):
  a_file = tmp_path / "file.txt"
  a_file.write_text("keep me")
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole", "--root-dir", str(a_file))
  assert_one_line_error(code, err, "is a file")
  (tmp_path / "photos").mkdir()
  (tmp_path / "photos" / "cat.jpg").write_text("meow")
  code, err = run_in_process(capsys, "train", "--config", "dqn_cartpole", "--root-dir",
                             str(tmp_path / "photos"))
  assert_one_line_error(code, err, "holds no rlrun run")
  assert a_file.read_text() == "keep me" and (tmp_path / "photos" / "cat.jpg").exists()


def test_eval_errors(capsys, tmp_path):
  assert_one_line_error(*run_in_process(capsys, "eval", "--root-dir", str(tmp_path / "none")),
                        "no such directory")
  assert_one_line_error(*run_in_process(capsys, "eval", "--root-dir", str(tmp_path)),
                        "has no saved policy")
  (tmp_path / "fake").mkdir()
  (tmp_path / "fake" / "saved_model.pb").write_bytes(b"not a protobuf")
  assert_one_line_error(*run_in_process(capsys, "eval", "--policy", str(tmp_path / "fake")),
                        "cannot load policy")


def test_video_rejects_unknown_format(capsys, smoke_run, tmp_path):
  root, _ = smoke_run
  code, err = run_in_process(capsys, "record-video", "--root-dir", str(root), "--output",
                             str(tmp_path / "clip.avi"))
  assert_one_line_error(code, err, ".mp4 or .gif")


@pytest.mark.parametrize("make_args, fragments", [
    (lambda run, out: ["plot", str(run), "-o", str(out / "p.png"), "--csv", str(run / "run.json")],
     ["--csv", "use a .csv file name"]),
    (lambda run, out: ["plot", str(run), "-o", str(out / "p.png"), "--csv",
                       str(run / "eval" / "curves.csv")], ["inside", "eval", "rlrun writes"]),
    (lambda run, out: ["plot", str(run), "-o", str(run / "policies" / "policy" / "p.png")],
     ["inside", "policies", "rlrun writes"]),
    (lambda run, out: ["record-video", "--root-dir", str(run), "--output",
                       str(run / "checkpoints" / "clip.mp4")], ["inside", "checkpoints"]),
    (lambda run, out: ["configs", "copy", "dqn_cartpole", str(run / "replay" / "x.gin")],
     ["DEST", "inside", "replay"]),
    (lambda run, out: ["sweep", "--config", "dqn_cartpole.gin", "--param",
                       "train.Experiment.num_iterations=[20]", "--root-dir",
                       str(run / "train" / "sweep")], ["--root-dir", "inside", "train"]),
    (lambda run, out: ["eval", "--root-dir", str(run), "--step", "\u00b2"],
     ["--step", "use a step number"]),
    (lambda run, out: ["configs", "show", str(run / "policies" / "policy" / "saved_model.pb")],
     ["not a text file"]),
])
def test_outputs_inside_a_run_and_odd_inputs_leave_it_untouched(capsys, smoke_run, tmp_path,
                                                                make_args, fragments):
  root, _ = smoke_run
  before = snapshot(root)
  assert_one_line_error(*run_in_process(capsys, *make_args(root, tmp_path)), *fragments)
  assert snapshot(root) == before
  assert not list(tmp_path.iterdir())


def test_an_environment_that_is_not_the_policys_is_refused_before_anything_is_written(
    capsys, smoke_run, tmp_path):
  root, _ = smoke_run
  run = tmp_path / "run"
  shutil.copytree(root, run)
  config = run / "config.gin"
  config.write_text(config.read_text().replace("'CartPole-v0'", "'Acrobot-v1'"))
  before = snapshot(run)
  for command in (["eval", "--episodes", "1"], ["record-video"]):
    code, err = run_in_process(capsys, *command, "--root-dir", str(run), "--use-run-config")
    assert_one_line_error(code, err, "observation shape [(6,)] is not the policy's [(4,)]")
  assert snapshot(run) == before
  config.write_text(config.read_text().replace("'Acrobot-v1'", "'NoSuchEnv-v9'"))
  before = snapshot(run)
  for command in (["eval", "--episodes", "1"], ["record-video"]):
    code, err = run_in_process(capsys, *command, "--root-dir", str(run), "--use-run-config")
    assert_one_line_error(code, err, "cannot build the environment of", "NoSuchEnv-v9")
  assert snapshot(run) == before


def test_help_lists_commands():
  result = rlrun("--help")
  assert result.returncode == 0
  for command in ("train", "eval", "record-video", "configs"):
    assert command in result.stdout
