"""One BLAS thread for numpy in a collecting process.

The numpy collect policies multiply one observation (or a few) by each layer's kernel: more
BLAS threads do not make that faster, and OpenBLAS's idle worker threads keep spinning after
each call, taking the cores TensorFlow's train step needs. The `rlrun` command sets
OPENBLAS_NUM_THREADS=1 before numpy loads; this covers processes that build a collector
without it (the library API, scripts). scripts/profile_peers.py's notes in BENCHMARKS.md
give the measured difference.
"""

import threadpoolctl


def use_one_blas_thread() -> None:
  """Limits the BLAS libraries loaded in this process (OpenBLAS, MKL, BLIS) to one thread.

  The limit stays for the rest of the process. TensorFlow's own thread pools (Eigen, oneDNN)
  are not BLAS libraries and keep theirs.
  """
  threadpoolctl.threadpool_limits(limits=1, user_api="blas")
