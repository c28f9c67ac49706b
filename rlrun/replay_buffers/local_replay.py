"""LocalReplay: an in-process replay table whose sampling is seeded and whose state is saved exactly.

It plays the Reverb table's part for a single-process run (`train.Experiment.replay =
'local'`, and always in deterministic mode): the builder's writer semantics (items of
`sequence_length` consecutive steps of one episode, one every `stride` steps), FIFO
removal at `capacity` items, and uniform sampling with a numpy Generator. Sampling is a
synchronous numpy gather (no server round trip, no background thread), so which items
a batch holds depends only on the seed and what was written before.

`save(directory)` writes everything (items, write position, the partial episode, the
generator's state) to one .npz; `load(directory)` brings it back bit for bit.
"""

import collections
import json
import os
from typing import Any, Dict, Optional

import numpy as np
import tree

from rlrun.specs import tensor_spec

FILE = "local_replay.npz"
MANIFEST = "manifest.json"
DONE = "DONE"


class LocalReplay:
  """A seeded in-process table of `sequence_length`-step items of `data_spec`.

  Args:
    data_spec: the spec of one step (the agent's collect_data_spec).
    sequence_length: steps per item.
    capacity: the most items held; the oldest goes first.
    seed: seeds the sampling generator.
    stride: steps between the starts of consecutive items of an episode.
  """

  def __init__(self, data_spec: Any, sequence_length: int, capacity: int, seed: Any,
               stride: int = 1):
    if sequence_length < 1 or stride < 1 or capacity < 1:
      raise ValueError(f"LocalReplay needs sequence_length, stride and capacity >= 1, got "
                       f"{sequence_length}, {stride}, {capacity}")
    self._spec = data_spec
    self._leaves = tree.flatten(tensor_spec.to_nest_array_spec(tensor_spec.from_spec(data_spec)))
    self._length = sequence_length
    self._stride = stride
    self._capacity = capacity
    self._items = [np.zeros((capacity, sequence_length) + tuple(s.shape), s.dtype)
                   for s in self._leaves]
    self._size = 0
    self._next = 0
    self._rng = np.random.default_rng(seed)
    self._window = collections.deque(maxlen=sequence_length)
    self._steps_in_episode = 0
    self._inserted = 0  # items created and sampled by this process (replay diagnostics)
    self._sampled = 0

  @property
  def capacity(self) -> int:
    return self._capacity

  @property
  def bytes_at_capacity(self) -> int:
    """What the items take once the table is full (the arrays fill as items arrive)."""
    return int(sum(storage.nbytes for storage in self._items))

  @property
  def steps_in_episode(self) -> int:
    """Steps written since the episode began (0 after a boundary step or reset)."""
    return self._steps_in_episode

  def num_frames(self) -> int:
    """Items held (the name ReverbReplayBuffer uses)."""
    return self._size

  # ---- writing: the observer -------------------------------------------------------

  def __call__(self, trajectory) -> None:
    leaves = tree.flatten(trajectory)
    self._window.append([np.asarray(x) for x in leaves])
    self._steps_in_episode += 1
    surplus = self._steps_in_episode - self._length
    if surplus >= 0 and surplus % self._stride == 0:
      row = self._next
      for i, storage in enumerate(self._items):
        for t, step in enumerate(self._window):
          storage[row, t] = step[i]
      self._next = (row + 1) % self._capacity
      self._size = min(self._size + 1, self._capacity)
      self._inserted += 1
    if bool(np.all(trajectory.is_boundary())):
      self.reset()

  def reset(self) -> None:
    """Drops the partial episode (its next step starts a new one)."""
    self._window.clear()
    self._steps_in_episode = 0

  def flush(self) -> None:
    """Nothing to wait for: every item is in place once the call returns."""

  def close(self) -> None:
    pass

  # ---- reading -----------------------------------------------------------------------

  def sample(self, batch_size: int, count: int = 1) -> Any:
    """`count` batches of `batch_size` items, uniformly: a nest of [count, batch, T, ...] arrays."""
    if self._size == 0:
      raise ValueError("the local replay table is empty: collect before sampling")
    index = self._rng.integers(0, self._size, size=(count, batch_size))
    self._sampled += count * batch_size
    return tree.unflatten_as(self._spec, [storage[index] for storage in self._items])

  def counters(self) -> Dict[str, float]:
    """size, capacity, and the items this process inserted and sampled (see diagnostics.py)."""
    return {"size": float(self._size), "capacity": float(self._capacity),
            "inserts": float(self._inserted), "samples": float(self._sampled)}

  # ---- state -------------------------------------------------------------------------

  def save(self, directory: str) -> Dict[str, int]:
    """Writes the whole state into `directory` (files complete before DONE); returns its counts."""
    os.makedirs(directory, exist_ok=True)
    window = list(self._window)
    arrays = {f"item_{i}": storage[:self._size] if self._size < self._capacity else storage
              for i, storage in enumerate(self._items)}
    for i in range(len(self._leaves)):
      arrays[f"window_{i}"] = (np.stack([step[i] for step in window]) if window else
                               np.zeros((0,) + tuple(self._leaves[i].shape), self._leaves[i].dtype))
    state = {"size": self._size, "next": self._next, "steps_in_episode": self._steps_in_episode,
             "rng": self._rng.bit_generator.state, "capacity": self._capacity}
    return write_files(directory, arrays, state)

  def load(self, directory: str) -> None:
    """Restores the state `save` wrote (verify first: see `verify`)."""
    with np.load(os.path.join(directory, FILE)) as data:
      state = json.loads(bytes(data["state"]).decode())
      if state["capacity"] != self._capacity:
        raise ValueError(f"the saved local replay holds up to {state['capacity']} items, this "
                         f"config's {self._capacity}")
      self._size, self._next = state["size"], state["next"]
      for i, storage in enumerate(self._items):
        saved = data[f"item_{i}"]
        storage[:len(saved)] = saved
      window = [data[f"window_{i}"] for i in range(len(self._items))]
    self._window.clear()
    for t in range(len(window[0])):
      self._window.append([leaf[t] for leaf in window])
    self._steps_in_episode = state["steps_in_episode"]
    self._rng.bit_generator.state = state["rng"]


def write_files(directory: str, arrays: Dict[str, np.ndarray],
                state: Dict[str, Any]) -> Dict[str, int]:
  """Writes `arrays` (item_i: leaf i of every item) and `state` (with "size" and
  "capacity") as FILE, then MANIFEST, then DONE, each complete before the next; returns
  the counts."""
  arrays = dict(arrays, state=np.frombuffer(json.dumps(state).encode(), np.uint8))
  tmp = os.path.join(directory, f".{FILE}")
  with open(tmp, "wb") as f:
    np.savez(f, **arrays)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, os.path.join(directory, FILE))
  counts = {"items": int(state["size"])}
  with open(os.path.join(directory, MANIFEST), "w") as f:
    json.dump({"items": counts}, f)
  open(os.path.join(directory, DONE), "w").close()
  return counts


def is_local(directory: str) -> bool:
  return os.path.isfile(os.path.join(directory, FILE))


def verify(directory: str, expected: Optional[Dict[str, int]] = None) -> Dict[str, int]:
  """Checks a saved LocalReplay reads back completely; returns its counts.

  Raises:
    ValueError: naming what is missing or unreadable.
  """
  name = os.path.basename(os.path.normpath(directory))
  if not os.path.isfile(os.path.join(directory, DONE)):
    raise ValueError(f"replay checkpoint {name} has no {DONE}")
  try:
    with np.load(os.path.join(directory, FILE)) as data:
      state = json.loads(bytes(data["state"]).decode())
      lengths = {len(data[key]) for key in data.files if key.startswith("item_")}
  except Exception as e:  # pylint: disable=broad-except  (BadZipFile, EOFError, KeyError...)
    raise ValueError(f"replay checkpoint {name} is unreadable ({type(e).__name__}: "
                     f"{str(e)[:120]})") from e
  counts = {"items": int(state["size"])}
  if lengths != {min(state["size"], state["capacity"])} and state["size"]:
    raise ValueError(f"replay checkpoint {name} is inconsistent ({lengths} rows for "
                     f"{state['size']} items)")
  if expected is None and os.path.isfile(os.path.join(directory, MANIFEST)):
    with open(os.path.join(directory, MANIFEST)) as f:
      expected = json.load(f)["items"]
  if expected is not None and expected != counts:
    raise ValueError(f"replay checkpoint {name} holds {counts}, its manifest says {expected}")
  return counts
