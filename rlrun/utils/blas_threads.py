"""One BLAS thread for numpy in a collecting process.

The numpy collect policies multiply one observation (or a few) by each layer's kernel: more
BLAS threads do not make that faster, and OpenBLAS's idle worker threads keep spinning after
each call, taking the cores TensorFlow's train step needs. scripts/profile_peers.py and
scripts/bench_against_revision.py measure the difference.
"""

import threadpoolctl

_LIMITS = []


def use_one_blas_thread() -> None:
  """Limits numpy's BLAS (OpenBLAS, MKL, BLIS) to one thread in this process, once.

  TensorFlow's own thread pools (Eigen, oneDNN) are not BLAS libraries and keep theirs.
  """
  if not _LIMITS:
    _LIMITS.append(threadpoolctl.threadpool_limits(limits=1, user_api="blas"))
