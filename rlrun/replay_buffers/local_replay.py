"""LocalReplay: an in-process replay table whose sampling is seeded and whose state is saved exactly.

It plays the Reverb table's part for a single-process run (`train.Experiment.replay =
'local'`, and always in deterministic mode): the builder's writer semantics (items of
`sequence_length` consecutive steps of one episode, one every `stride` steps), FIFO
removal at `capacity` items, and uniform sampling with a numpy Generator. Sampling is a
synchronous numpy gather (no server round trip, no background thread), so which items
a batch holds depends only on the seed and what was written before.

Each step is stored once (items point into a ring of steps; see LocalReplay).
`save(directory)` writes everything (the held steps, the items, write position, the
partial episode, the generator's state) to one .npz; `load(directory)` brings it back bit
for bit.
"""

import collections
import json
import os
from typing import Any, Dict, Optional

import numpy as np
import tree

from rlrun.specs import tensor_spec
from rlrun.trajectories import time_step as ts

FILE = "local_replay.npz"
MANIFEST = "manifest.json"
DONE = "DONE"


class LocalReplay:
  """A seeded in-process table of `sequence_length`-step items of `data_spec`.

  Each step is stored once, in a ring of steps that an item points into (its first step):
  items of an episode overlap (T steps, a new one every `stride`), so a table of N items
  holds about N * min(stride, T) steps rather than N * T (for Atari's 14-step items of
  single frames, one frame per transition instead of fourteen). The ring starts at that
  size; the first T - 1 steps of each episode start no item of their own, so once the table
  is full the ring grows (a copy) by a sixteenth at a time until it holds every step the
  held items need: about N * min(stride, T) * (1 + (T - 1) / episode length) steps.

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
    # Zeroed memory is only resident once written: the ring is sized for long episodes.
    self._steps = self._new_ring(capacity * min(stride, sequence_length) + sequence_length)
    self._written = 0  # steps written so far; step g is at ring row g % len(ring)
    self._starts = np.zeros(capacity, np.int64)  # each item slot's first step
    self._size = 0
    self._next = 0
    self._rng = np.random.default_rng(seed)
    self._window = collections.deque(maxlen=sequence_length)
    self._window_steps = collections.deque(maxlen=sequence_length)  # step index, -1: unwritten
    self._steps_in_episode = 0
    self._inserted = 0  # items created and sampled by this process (replay diagnostics)
    self._sampled = 0

  def _new_ring(self, rows: int) -> list:
    return [np.zeros((rows,) + tuple(s.shape), s.dtype) for s in self._leaves]

  @property
  def capacity(self) -> int:
    return self._capacity

  @property
  def bytes_at_capacity(self) -> int:
    """What the ring of steps takes now: at first, a full table of long episodes' items (its
    pages fill as items arrive); more once short episodes have made it grow."""
    return int(sum(ring.nbytes for ring in self._steps))

  @property
  def steps_in_episode(self) -> int:
    """Steps written since the episode began (0 after a boundary step or reset)."""
    return self._steps_in_episode

  def num_frames(self) -> int:
    """Items held (the name ReverbReplayBuffer uses)."""
    return self._size

  # ---- writing: the observer -------------------------------------------------------

  def __call__(self, trajectory) -> None:
    self._window.append([np.asarray(x) for x in tree.flatten(trajectory)])
    self._window_steps.append(-1)
    self._steps_in_episode += 1
    surplus = self._steps_in_episode - self._length
    if surplus >= 0 and surplus % self._stride == 0:
      self._insert()
    if ts.all_true(trajectory.is_boundary()):
      self.reset()

  def _insert(self) -> None:
    """Makes the window an item: writes its steps not written yet (a suffix of it: the rest
    are the last steps written, by this episode's previous item) and points a slot at it."""
    unwritten = [t for t, step in enumerate(self._window_steps) if step < 0]
    start = self._written - (len(self._window) - len(unwritten))
    size = min(self._size + 1, self._capacity)
    slot = self._next
    oldest = start if size == 1 else int(self._starts[(slot + 1 - size) % self._capacity])
    needed = self._written + len(unwritten) - oldest
    if needed > len(self._steps[0]):
      self._grow(needed, oldest)
    rows = len(self._steps[0])
    for t in unwritten:
      row = self._written % rows
      for ring, value in zip(self._steps, self._window[t]):
        ring[row] = value
      self._window_steps[t] = self._written
      self._written += 1
    self._starts[slot] = start
    self._next = (slot + 1) % self._capacity
    self._size = size
    self._inserted += 1

  def _grow(self, needed: int, oldest: int) -> None:
    """A ring of at least `needed` rows holding steps oldest..written - 1 where they belong."""
    old = self._steps
    self._steps = self._new_ring(needed + max(self._length, needed // 16))
    held = np.arange(oldest, self._written)
    for new_ring, old_ring in zip(self._steps, old):
      new_ring[held % len(new_ring)] = old_ring[held % len(old_ring)]

  def reset(self) -> None:
    """Drops the partial episode (its next step starts a new one)."""
    self._window.clear()
    self._window_steps.clear()
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
    rows = (self._starts[index][..., None] + np.arange(self._length)) % len(self._steps[0])
    return tree.unflatten_as(self._spec, [ring[rows] for ring in self._steps])

  def counters(self) -> Dict[str, float]:
    """size, capacity, and the items this process inserted and sampled (see diagnostics.py)."""
    return {"size": float(self._size), "capacity": float(self._capacity),
            "inserts": float(self._inserted), "samples": float(self._sampled)}

  # ---- state -------------------------------------------------------------------------

  def save(self, directory: str) -> Dict[str, int]:
    """Writes the whole state into `directory` (files complete before DONE); returns its counts.

    The ring's written rows are saved as they lie (no copy), with the items' first steps
    and the count of steps written, which place every step in it."""
    os.makedirs(directory, exist_ok=True)
    rows = len(self._steps[0])
    arrays = {f"step_{i}": ring[:min(self._written, rows)] for i, ring in enumerate(self._steps)}
    arrays["starts"] = self._starts[:self._size]
    window = list(self._window)
    for i in range(len(self._leaves)):
      arrays[f"window_{i}"] = (np.stack([step[i] for step in window]) if window else
                               np.zeros((0,) + tuple(self._leaves[i].shape), self._leaves[i].dtype))
    arrays["window_steps"] = np.array(self._window_steps, np.int64)
    state = {"size": self._size, "next": self._next, "steps_in_episode": self._steps_in_episode,
             "rng": self._rng.bit_generator.state, "capacity": self._capacity,
             "written": self._written, "ring_rows": rows}
    return write_files(directory, arrays, state)

  def load(self, directory: str) -> None:
    """Restores the state `save` wrote (verify first: see `verify`); also reads the format of
    rlrun before steps were stored once (every item's steps, item_<leaf>)."""
    with np.load(os.path.join(directory, FILE)) as data:
      state = json.loads(bytes(data["state"]).decode())
      if state["capacity"] != self._capacity:
        raise ValueError(f"the saved local replay holds up to {state['capacity']} items, this "
                         f"config's {self._capacity}")
      count = len(self._leaves)
      if "starts" in data.files:
        steps = [data[f"step_{i}"] for i in range(count)]
        starts = data["starts"]
        window_steps = data["window_steps"].tolist()
        written, rows = state["written"], state["ring_rows"]
      else:  # each item's steps stored whole: laid out oldest item first, steps of their own
        held = min(state["size"], self._capacity)
        order = (state["next"] - held + np.arange(held)) % self._capacity
        steps = [data[f"item_{i}"][order].reshape((-1,) + self._leaves[i].shape)
                 for i in range(count)]
        starts = np.zeros(held, np.int64)
        starts[order] = np.arange(held) * self._length
        window_steps = None
        written = rows = held * self._length
      window = [data[f"window_{i}"] for i in range(count)]
    # Step g sits at row g % rows: a ring that wrapped comes back at its own size.
    wrapped = written > rows
    if (rows != len(self._steps[0])) if wrapped else (written > len(self._steps[0])):
      self._steps = self._new_ring(rows)
    for ring, saved in zip(self._steps, steps):
      ring[:len(saved)] = saved
    self._written = written
    self._size, self._next = state["size"], state["next"]
    self._starts[:len(starts)] = starts
    self._window.clear()
    self._window_steps.clear()
    for t in range(len(window[0])):
      self._window.append([leaf[t] for leaf in window])
      self._window_steps.append(-1 if window_steps is None else int(window_steps[t]))
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
      arrays = {key: data[key] for key in data.files}  # reading each checks its CRC
  except Exception as e:  # pylint: disable=broad-except  (BadZipFile, EOFError, KeyError...)
    raise ValueError(f"replay checkpoint {name} is unreadable ({type(e).__name__}: "
                     f"{str(e)[:120]})") from e
  counts = {"items": int(state["size"])}
  rows_key = "starts" if "starts" in arrays else "item_"
  lengths = {len(array) for key, array in arrays.items() if key.startswith(rows_key)}
  if lengths != {min(state["size"], state["capacity"])} and state["size"]:
    raise ValueError(f"replay checkpoint {name} is inconsistent ({lengths} rows for "
                     f"{state['size']} items)")
  if rows_key == "starts" and state["size"]:
    steps = {len(array) for key, array in arrays.items() if key.startswith("step_")}
    starts, written = arrays["starts"], state["written"]
    if (steps != {min(written, state["ring_rows"])} or starts.max() >= written or
        starts.min() < written - state["ring_rows"]):
      raise ValueError(f"replay checkpoint {name} is inconsistent (items outside the "
                       f"{steps} steps held)")
  if expected is None and os.path.isfile(os.path.join(directory, MANIFEST)):
    with open(os.path.join(directory, MANIFEST)) as f:
      expected = json.load(f)["items"]
  if expected is not None and expected != counts:
    raise ValueError(f"replay checkpoint {name} holds {counts}, its manifest says {expected}")
  return counts
