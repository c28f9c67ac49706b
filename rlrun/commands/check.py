"""`rlrun check`: build a config without training and report what it would run.

Everything `rlrun train` would refuse at build time is found here, in a scratch directory,
before anything is written: the report then says what the config builds (environment
specs and step limit, networks and their parameters, the loop, the replay table and its
memory at capacity, what the run will keep on disk: measured from one agent checkpoint and
one policy export written in the scratch directory), how long it will take (a few
iterations of the real loop timed there: time_probe.py) and the exact `rlrun train` command.
"""

import json
import shlex
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, TextIO

import numpy as np

from rlrun import configs
from rlrun.errors import bad_config
from rlrun.run_dir import RunDirectory

_LOOP_FIELDS = ("num_iterations", "initial_collect_steps", "collect_steps_per_iteration",
                "train_steps_per_iteration", "batch_size", "iterations_per_call",
                "eval_interval", "num_eval_episodes", "checkpoint_interval",
                "policy_save_interval", "seed")


def _spec_text(spec: Any) -> Any:
  """A spec nest as plain data: shape, dtype and bounds of each leaf."""
  if isinstance(spec, dict):
    return {key: _spec_text(s) for key, s in spec.items()}
  if isinstance(spec, (tuple, list)):
    return [_spec_text(s) for s in spec]
  text = {"shape": list(spec.shape), "dtype": np.dtype(spec.dtype).name}
  for bound in ("minimum", "maximum"):
    if hasattr(spec, bound):
      values = np.asarray(getattr(spec, bound))
      text[bound] = values.item() if values.size == 1 else values.tolist()
  return text


def _spec_bytes(spec: Any) -> int:
  """Bytes of one value of a spec nest (uncompressed)."""
  import tensorflow as tf
  return int(sum(np.prod(s.shape, dtype=np.int64) * tf.as_dtype(s.dtype).size
                 for s in tf.nest.flatten(spec)))


def _step_limit(env) -> Optional[int]:
  """The duration of the first TimeLimit in the env's wrapper chain, if any."""
  from rlrun.environments.wrappers import TimeLimit
  env = getattr(env, "envs", [env])[0]  # (batched environments: the first one's)
  for _ in range(100):
    if env is None:
      return None
    if isinstance(env, TimeLimit):
      return env.duration
    env = env.__dict__.get("_env")
  return None


def _networks(agent) -> List[Dict[str, Any]]:
  """Each network the agent holds: its name, layer shapes (kernels) and parameter count."""
  from rlrun.networks.network import Network
  found, seen = [], set()
  for value in vars(agent).values():
    for net in (value if isinstance(value, (list, tuple)) else [value]):
      if isinstance(net, Network) and id(net) not in seen:
        seen.add(id(net))
        found.append({"name": net.name, "class": type(net).__name__,
                      "parameters": int(sum(np.prod(v.shape) for v in net.trainable_variables)),
                      "layers": _layers_text(net.trainable_variables)})
  return found


def _layers_text(variables) -> str:
  """'conv 8x8x4->32 -> ... -> 3136 -> 512 -> 6': conv kernels, then dense widths."""
  convs = [f"conv {k[0]}x{k[1]}x{k[2]}->{k[3]}" for k in (list(v.shape) for v in variables)
           if len(k) == 4]
  dense = [list(v.shape) for v in variables if len(v.shape) == 2]
  widths = [str(dense[0][0])] + [str(k[1]) for k in dense] if dense else []
  return " -> ".join(convs + widths)


def _env_id(env) -> Optional[str]:
  """The gym/Gymnasium id, 'Atari <game>' for suite_atari, or None (a custom env)."""
  env = getattr(env, "envs", [env])[0]
  spec = getattr(getattr(env, "gym", None), "spec", None)
  if spec is not None:
    return spec.id
  game = getattr(env, "game", None)
  return f"Atari {game}" if isinstance(game, str) else None


def _table(table, step_bytes: int, length: int, stride: int, shared: bool) -> Dict[str, Any]:
  """The table's settings and sizes: an item as sampled is `length` steps; `shared`: a step
  is stored once however many items share it (Reverb, and the off-policy local replay; the
  local rollout queue keeps each item whole)."""
  info = table.info
  item_bytes = step_bytes * length
  per_item = step_bytes * min(stride, length) if shared else item_bytes
  limiter = info.rate_limiter_info
  unlimited = 1e300
  return {"name": table.name, "capacity": int(info.max_size),
          "sampler": str(info.sampler_options).split(":")[0].strip(),
          "remover": str(info.remover_options).split(":")[0].strip(),
          "max_times_sampled": int(info.max_times_sampled) or None,
          "min_size_to_sample": int(limiter.min_size_to_sample),
          "samples_per_insert": (float(limiter.samples_per_insert)
                                 if abs(limiter.max_diff) < unlimited else None),
          "item_bytes": item_bytes, "bytes_at_capacity": per_item * int(info.max_size)}


def _stores_steps_once(builder, settings) -> bool:
  """Whether the run's replay keeps a step once however many items share it."""
  from rlrun.builders.builder import LoopKind
  return settings.replay == "reverb" or builder.loop_kind is LoopKind.OFF_POLICY


def report(config: str, bindings: Sequence[str], probe: bool = True) -> Dict[str, Any]:
  """Builds the config in a scratch directory; returns what it holds (and, with `probe`,
  the time estimate from a few timed iterations there).

  Raises:
    UserError: for everything `rlrun train` would refuse at build time.
  """
  from rlrun.commands import disk_estimate
  from rlrun.commands.train import _build_experiment, _num_iterations
  config_path = configs.resolve(config)
  configs.parse(config_path, bindings)
  _num_iterations()
  with tempfile.TemporaryDirectory(prefix="rlrun-check-") as scratch:
    experiment = _build_experiment(RunDirectory(f"{scratch}/run"), start=False)
    try:
      parts, settings = experiment.parts, experiment.settings
      builder, agent, env = parts.builder, parts.agent, parts.env
      sequence = builder.replay_length(agent)
      found = {
          "config": str(config_path), "bindings": list(bindings),
          "environment": {
              "id": _env_id(env),
              "observation_spec": _spec_text(env.observation_spec()),
              "action_spec": _spec_text(env.action_spec()),
              "episode_step_limit": _step_limit(env)},
          "builder": type(builder).__name__, "agent": type(agent).__name__,
          "networks": _networks(agent),
          "loop": {name: getattr(settings, name) for name in _LOOP_FIELDS
                   if hasattr(settings, name)},
          "replay": _table(experiment._table,  # pylint: disable=protected-access
                           _spec_bytes(builder.replay_spec(agent)), sequence,
                           builder.stride, _stores_steps_once(builder, settings)) | {
                               "sequence_length": sequence, "backend": settings.replay,
                               "shared_steps": _stores_steps_once(builder, settings),
                               "frame_stack": builder.frame_stack},
          "disk": disk_estimate.estimate(
              parts, scratch, _spec_bytes(builder.replay_spec(agent)), sequence, builder.stride,
              int(experiment._table.info.max_size),  # pylint: disable=protected-access
              _stores_steps_once(builder, settings)),
          "train_command": " ".join(["rlrun", "train", "--config", shlex.quote(config)] + [
              f"--gin-param {shlex.quote(b)}" for b in bindings]),
      }
      try:  # what train does next: the replay, collector, evaluator (in the scratch dir)
        experiment.start()
      except (ValueError, TypeError, RuntimeError) as e:
        raise bad_config(e) from e
      if probe:
        from rlrun.commands import time_probe
        found["time"] = time_probe.probe(experiment,
                                        found["environment"]["episode_step_limit"])
      return found
    finally:
      experiment.close()


def _mib(count: int) -> str:
  """A byte count in KiB, MiB or GiB."""
  for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
    if count >= size:
      return f"{count / size:.1f} {unit}"
  return f"{count / 2**10:.1f} KiB"


def _disk_line(disk: Dict[str, Any]) -> str:
  return (f"disk: ~{_mib(disk['total_bytes'])} kept: {disk['checkpoints_kept']} checkpoint(s) of "
          f"{_mib(disk['agent_checkpoint_bytes'])} agent + {_mib(disk['replay_checkpoint_bytes'])} "
          f"replay (uncompressed), {disk['policy_copies']} policy exports of "
          f"{_mib(disk['policy_bytes'])}")


def text_lines(found: Dict[str, Any]) -> List[str]:
  env, replay, loop = found["environment"], found["replay"], found["loop"]
  lines = [f"config: {found['config']} (builds: every binding used)",
           f"environment: {env['id'] or '(custom)'}; episode step limit "
           f"{env['episode_step_limit'] or 'none'}",
           f"  observation: {json.dumps(env['observation_spec'])}",
           f"  action:      {json.dumps(env['action_spec'])}",
           f"agent: {found['agent']} (builder {found['builder']})"]
  for net in found["networks"]:
    lines.append(f"  {net['name']} ({net['class']}): {net['layers']}, "
                 f"{net['parameters']:,} parameters")
  lines.append("loop: " + ", ".join(f"{k} {v}" for k, v in loop.items()))
  limiter = (f"samples per insert {replay['samples_per_insert']}"
             if replay["samples_per_insert"] is not None else "no rate limit")
  stacking = (f" (one frame per step; stacks of {replay['frame_stack']} rebuilt when sampled)"
              if replay.get("frame_stack", 1) > 1 else "")
  shared = " (a step shared by items is stored once)" if replay["shared_steps"] else ""
  lines += [f"replay: {replay['backend']} table '{replay['name']}', capacity "
            f"{replay['capacity']:,}, sampler {replay['sampler']}, remover {replay['remover']}, "
            f"sequences of {replay['sequence_length']}, {limiter}, sampling from "
            f"{replay['min_size_to_sample']} items",
            f"  item: {replay['item_bytes']:,} bytes uncompressed{stacking}; at capacity "
            f"{_mib(replay['bytes_at_capacity'])}{shared}",
            _disk_line(found["disk"])]
  if "time" in found:
    from rlrun.commands import time_probe
    if found["time"]["stored_item_bytes"] is not None:
      lines.insert(-1, f"  one real item, sampled back from the table: "
                   f"{found['time']['stored_item_bytes']:,} bytes uncompressed")
    lines.append(time_probe.text(found["time"]))
  lines.append(f"train: {found['train_command']}")
  return lines


def check(config: str, bindings: Sequence[str], as_json: bool = False,
          out: Optional[TextIO] = None, probe: bool = True) -> int:
  """Runs `rlrun check`; returns the exit code (a refused config raises UserError)."""
  out = out or sys.stdout
  found = report(config, bindings, probe)
  out.write((json.dumps(found) if as_json else "\n".join(text_lines(found))) + "\n")
  return 0
