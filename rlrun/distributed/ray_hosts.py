"""`rlrun train --actors N --ray ADDRESS`: the roles' processes placed on a Ray cluster.

Ray places, watches and stops; it carries no experience or weights (those go to and from
the Reverb server over gRPC, as in a local run). Each role runs exactly as under the local
launcher, as the process `python -m rlrun.cli <role> ...`, hosted by a small Ray actor
(RoleHost) on the node Ray chose. The launcher's supervisor sees a RayProcess with the
three operations of a local child (pid, exit_code, signal), so restarts, the stop order
and the checkpoint on Ctrl-C are the local launcher's.

Placement: the replay server, the learner and the evaluator run on one node, the *learner
node*: the node of this command by default, or the node started with the custom resource
given as `--ray-learner-resource NAME` (`ray start --resources '{"NAME": 1}'`). The run
directory must be visible at the same path on the learner node and here (the same node, or
a shared filesystem): the server's replay checkpoints, the learner's checkpoints and the
status files the progress line reads all go there. Actors are spread over the cluster.

An actor host that dies, with its process or with its node, is reported as the child
exiting with SIGKILL, and the supervisor starts a new host, which Ray places on a live
node. Ray is imported only here, so runs without --ray never load it.
"""

import dataclasses
import json
import math
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from rlrun.distributed.settings import Settings
from rlrun.distributed.supervisor import ChildSpec, LocalProcess
from rlrun.errors import UserError

CORE_ROLES = ("replay_server", "learner", "evaluator")
PLACEMENT_TIMEOUT_S = 120.0
LOST = -int(signal.SIGKILL)  # how a host lost with its process or node is reported


def import_ray():
  try:
    import ray  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise UserError("--ray needs Ray, which is not installed: pip install 'rlrun[ray]'") from e
  return ray


class RoleHost:
  """A Ray actor that runs one role's process on its node (made remote in RayCluster).

  The process runs with this node's Python (where rlrun is installed) and, when
  `config_text` is given, a copy of the driver's config file written on this node, so
  neither needs to exist at the driver's paths here.
  """

  def __init__(self, spec: ChildSpec, header: str, config_text: Optional[str] = None):
    # A sync Ray actor runs __init__ on its worker's main thread, which lives as long as
    # the worker: the process's PR_SET_PDEATHSIG (it dies with this host) holds.
    if threading.current_thread() is not threading.main_thread():
      raise RuntimeError("RoleHost must start on its worker's main thread")
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # exit codes must be reapable here
    os.environ.pop("OMP_NUM_THREADS", None)  # Ray's worker setting, not the role's
    argv = [sys.executable] + list(spec.argv[1:])
    if config_text is not None and "--config" in argv:
      at = argv.index("--config") + 1
      copy = Path(tempfile.mkdtemp(prefix="rlrun-config-"), Path(argv[at]).name)
      copy.write_text(config_text)
      argv[at] = str(copy)
    self._proc = LocalProcess(dataclasses.replace(spec, argv=argv), header)

  def where(self) -> Tuple[int, str, str]:
    import ray  # pylint: disable=import-outside-toplevel
    return (self._proc.pid, ray.util.get_node_ip_address(),
            ray.get_runtime_context().get_node_id())

  def status(self, path: str) -> Optional[Dict]:
    """The role's status file on this node (see rlrun.distributed.status), or None."""
    try:
      return json.loads(Path(path).read_text())
    except (OSError, ValueError):
      return None

  def exit_code(self) -> Optional[int]:
    return self._proc.exit_code()

  def signal(self, sig: int) -> None:
    self._proc.signal(sig)


def _check_run_dir(marker: str) -> bool:
  return os.path.exists(marker)


def _free_port() -> int:
  from rlrun.distributed.ports import free_port  # pylint: disable=import-outside-toplevel
  return free_port()


class RayProcess:
  """The supervisor's view of a process hosted by a RoleHost somewhere on the cluster."""

  def __init__(self, ray, host_class, spec: ChildSpec, header: str, options: Dict,
               config_text: Optional[str] = None):
    self._ray = ray
    self._code: Optional[int] = None
    self._pending = None  # the exit_code call in flight
    self._host = host_class.options(**options).remote(spec, header, config_text)
    try:
      self.pid, ip, self.node = ray.get(self._host.where.remote(), timeout=PLACEMENT_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError as e:
      ray.kill(self._host)
      raise OSError(f"Ray placed no node for {spec.name} within {PLACEMENT_TIMEOUT_S:.0f} s "
                    f"(it asks for {_describe(options)})") from e
    except ray.exceptions.RayError as e:
      ray.kill(self._host)
      raise OSError(f"Ray could not start {spec.name}: {_cause(e)}") from e
    self.where = f" on node {ip}"

  def exit_code(self) -> Optional[int]:
    """Never blocks: one call is in flight at a time, and an unanswered one means running."""
    if self._code is not None:
      return self._code
    ray = self._ray
    if self._pending is None:
      self._pending = self._host.exit_code.remote()
    ready, _ = ray.wait([self._pending], timeout=0)
    if not ready:
      return None  # a slow answer is not an exit
    call, self._pending = self._pending, None
    try:
      code = ray.get(call)
    except ray.exceptions.ActorUnavailableError:
      return None  # unreachable for now (a network blip), not dead: ask again
    except ray.exceptions.RayActorError:
      code = LOST  # the host died: its process was killed or its node is gone
    except ray.exceptions.RayError:
      code = LOST  # the host failed otherwise: its process cannot be watched any more
    if code is not None:
      self._code = code
      self.close()
    return code

  def signal(self, sig: int) -> None:
    if self._code is None:
      self._host.signal.remote(sig)

  @property
  def running(self) -> bool:
    return self._code is None

  def status(self, path: Path):
    """A future of the role's status file as its node sees it."""
    return self._host.status.remote(str(path))

  def close(self) -> None:
    try:
      self._ray.kill(self._host)
    except Exception:  # pylint: disable=broad-except
      pass  # already gone


def _cause(error: BaseException) -> str:
  """The last line of a Ray error (its innermost cause), without terminal colours."""
  lines = [l.strip() for l in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()
           if l.strip()]
  return lines[-1] if lines else type(error).__name__


def _describe(options: Dict) -> str:
  parts = [f"{options['num_cpus']:g} CPU"]
  if options.get("num_gpus"):
    parts.append(f"{options['num_gpus']:g} GPU")
  parts += [f"resource {name!r}" for name in options.get("resources", {})]
  return ", ".join(parts)


class RayCluster:
  """A connection to a Ray cluster that places the roles of one distributed run.

  Args:
    address: "auto" (the cluster this machine belongs to, or RAY_ADDRESS), HOST:PORT of
      a cluster's head node, or "local" (start a one-machine Ray for this run).
    settings: distributed.Settings (cpus per role, rpc timeout).
    actors: the number of collect actors to place.
    learner_resource: the custom resource marking the learner node (None: this node).
    gpu: the learner asks for one GPU.
  """

  def __init__(self, address: str, settings: Settings, actors: int,
               learner_resource: Optional[str] = None, gpu: bool = False):
    _check_reachable(address, settings.rpc_timeout_s)
    self.ray = ray = import_ray()
    self.settings = settings
    self.address = address
    local = {}
    if address == "local":  # this machine's cores, or enough CPUs to place every role
      local = {"num_cpus": max(os.cpu_count() or 1,
                               math.ceil((len(CORE_ROLES) + actors) * settings.ray_cpus_per_role))}
    try:
      ray.init(address=address, logging_level="ERROR", log_to_driver=False,
               include_dashboard=False, **local)
    except (ConnectionError, RuntimeError, ValueError) as e:
      raise UserError(f"--ray {address}: cannot connect to a Ray cluster ("
                      f"{str(e).splitlines()[0] if str(e) else type(e).__name__}); start one "
                      "with 'ray start --head' or give its head's HOST:PORT") from e
    self._host_class = ray.remote(max_restarts=0)(RoleHost)
    self._gpu = gpu
    self._processes: List[RayProcess] = []
    self._latest: Dict[str, RayProcess] = {}
    try:
      try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
      except ray.exceptions.RayError as e:
        raise UserError(f"--ray {address}: the cluster did not list its nodes ({_cause(e)})"
                        ) from e
      self.learner_node, self.learner_ip = self._learner_node(nodes, learner_resource)
      self._check_resources(nodes, actors)
    except BaseException:
      ray.shutdown()
      raise

  def _learner_node(self, nodes: List[Dict], resource: Optional[str]) -> Tuple[str, str]:
    if resource is None:
      here = self.ray.get_runtime_context().get_node_id()
      node = next((n for n in nodes if n["NodeID"] == here), None)
      if node is None:
        raise UserError("this machine is not a node of the Ray cluster at "
                        f"{self.address}; run rlrun train on one of its nodes, or mark the "
                        "learner's node with --ray-learner-resource")
    else:
      marked = sorted((n for n in nodes if n["Resources"].get(resource, 0) > 0),
                      key=lambda n: n["NodeID"])
      if not marked:
        raise UserError(f"--ray-learner-resource {resource}: no node of the Ray cluster has "
                        f"the resource {resource!r}; start the learner's node with ray start "
                        f"--resources '{{\"{resource}\": 1}}'")
      node = marked[0]
    return node["NodeID"], node["NodeManagerAddress"]

  def _check_resources(self, nodes: List[Dict], actors: int) -> None:
    """Refuses what Ray would leave pending for good (it has no error for that)."""
    cpus = self.settings.ray_cpus_per_role
    learner = next(n for n in nodes if n["NodeID"] == self.learner_node)
    core_cpus = 3 * cpus
    if learner["Resources"].get("CPU", 0) < core_cpus:
      raise UserError(f"the learner node ({self.learner_ip}) has "
                      f"{learner['Resources'].get('CPU', 0):g} CPUs; the replay server, learner "
                      f"and evaluator ask for {core_cpus:g} (distributed.Settings."
                      f"ray_cpus_per_role={cpus:g}); lower it or pick a bigger node")
    if self._gpu and learner["Resources"].get("GPU", 0) < 1:
      raise UserError(f"--gpu: the learner node ({self.learner_ip}) has no GPU in the Ray "
                      "cluster; mark a GPU node with --ray-learner-resource")
    total = sum(n["Resources"].get("CPU", 0) for n in nodes)
    needed = (len(CORE_ROLES) + actors) * cpus
    if max(n["Resources"].get("CPU", 0) for n in nodes) < cpus or total < needed:
      raise UserError(f"the Ray cluster has {total:g} CPUs; {actors} actors, the replay server, "
                      f"learner and evaluator ask for {needed:g} (distributed.Settings."
                      f"ray_cpus_per_role={cpus:g}); use fewer --actors, a lower "
                      "ray_cpus_per_role (0.5 puts two roles on a CPU) or more nodes")

  def _on_learner_node(self, fn, *args, timeout: float = PLACEMENT_TIMEOUT_S):
    ray = self.ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    task = ray.remote(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
        self.learner_node, soft=False))(fn)
    return ray.get(task.remote(*args), timeout=timeout)

  def server_endpoint(self, run_dir: Path) -> Tuple[str, int]:
    """(ip, port) for the replay server on the learner node; checks the run dir is shared."""
    marker = run_dir / f".ray-check-{uuid.uuid4().hex}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")
    try:
      if not self._on_learner_node(_check_run_dir, str(marker.resolve())):
        raise UserError(f"the run directory {run_dir} is not visible on the learner node "
                        f"({self.learner_ip}); put it on a filesystem both share, or run "
                        "rlrun train on that node")
      return self.learner_ip, self._on_learner_node(_free_port)
    except self.ray.exceptions.RayError as e:
      raise UserError(f"the learner node ({self.learner_ip}) of the Ray cluster did not "
                      f"answer ({str(e).splitlines()[0]}); check it with ray status") from e
    finally:
      marker.unlink()

  def options(self, name: str) -> Dict:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    options: Dict = {"num_cpus": self.settings.ray_cpus_per_role}
    if name in CORE_ROLES:
      options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(self.learner_node,
                                                                      soft=False)
      if name == "learner" and self._gpu:
        options["num_gpus"] = 1
    else:
      options["scheduling_strategy"] = "SPREAD"
    return options

  def spawn(self, spec: ChildSpec, header: str) -> RayProcess:
    """The supervisor's spawn function: hosts the child on the node Ray picks."""
    if self._gpu and spec.name != "learner":  # Ray does not hide the learner's GPU from them
      spec = dataclasses.replace(spec, env={**(spec.env or {}), "CUDA_VISIBLE_DEVICES": ""})
    process = RayProcess(self.ray, self._host_class, spec, header, self.options(spec.name),
                         self._config_text(spec))
    self._processes.append(process)
    self._latest[spec.name] = process
    return process

  @staticmethod
  def _config_text(spec: ChildSpec) -> Optional[str]:
    argv = list(spec.argv)
    if "--config" not in argv:
      return None
    return Path(argv[argv.index("--config") + 1]).read_text()

  def remote_statuses(self, root: Path, timeout_s: float = 1.0) -> Dict[str, Dict]:
    """The status files of running roles off the learner node, read on their nodes (so the
    progress line counts their env steps without a shared filesystem)."""
    names, calls = [], []
    for name, process in self._latest.items():
      if process.running and process.node != self.learner_node:
        names.append(name)
        calls.append(process.status(root / "status" / f"{name}.json"))
    if not calls:
      return {}
    ready, _ = self.ray.wait(calls, num_returns=len(calls), timeout=timeout_s)
    ready = {r.hex() for r in ready}
    statuses = {}
    for name, call in zip(names, calls):
      if call.hex() not in ready:
        continue  # slow: the next poll asks again
      try:
        status = self.ray.get(call)
      except self.ray.exceptions.RayError:
        continue  # its host is gone; the supervisor hears of it
      if status is not None:
        statuses[name] = status
    return statuses

  def close(self) -> None:
    """Kills every host left (their processes die with them) and disconnects."""
    for process in self._processes:
      process.close()
    self.ray.shutdown()


def _check_reachable(address: str, timeout: float) -> None:
  """An unreachable HOST:PORT fails in `timeout` seconds, not after Ray's long retries."""
  label = address
  if address == "auto" and os.environ.get("RAY_ADDRESS", "").startswith("ray://"):
    address = os.environ["RAY_ADDRESS"]
    label = f"auto (RAY_ADDRESS={address})"
  if address.startswith("ray://"):
    raise UserError(f"--ray {label}: Ray Client addresses are not supported (the launcher "
                    "must run on a node of the cluster); use ray job submit -- rlrun train "
                    "... --ray auto, or run it on the head node")
  if address in ("auto", "local"):
    return
  host, _, port = address.rpartition(":")
  if not host or not port.isdigit():
    raise UserError(f"--ray {address}: expected 'auto', 'local' or the head node's HOST:PORT "
                    "(e.g. 10.0.0.1:6379)")
  try:
    with socket.create_connection((host, int(port)), timeout=timeout):
      pass
  except OSError as e:
    raise UserError(f"--ray {address}: no Ray head node answers there ({e.strerror or e}); "
                    "check the address (ray status on the head prints it)") from e
