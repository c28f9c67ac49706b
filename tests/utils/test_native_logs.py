"""native_logs_to: C++ libraries' stderr goes to a log file; Python logging keeps working."""

import logging
import sys

from absl import logging as absl_logging

from rlrun.utils.native_logs import native_logs_to


def test_log_handlers_made_inside_the_block_write_to_the_terminal_after_it(tmp_path):
  # absl makes its handler on its first use, around whatever sys.stderr is then: inside the
  # block that is a stream the block closes at its end.
  absl_handler = absl_logging.get_absl_handler().python_handler
  before = absl_handler.stream
  plain = logging.StreamHandler()
  logging.root.addHandler(plain)
  try:
    with native_logs_to(tmp_path / "native.log"):
      inside = sys.stderr
      absl_handler.setStream(sys.stderr)
      plain.setStream(sys.stderr)
    assert inside.closed
    for handler in (absl_handler, plain):
      assert handler.stream is sys.stderr and not handler.stream.closed
      handler.stream.write("")  # writable: no "I/O operation on closed file"
  finally:
    absl_handler.setStream(before)
    logging.root.removeHandler(plain)


def test_a_handler_on_another_stream_is_left_alone(tmp_path):
  path = tmp_path / "own.log"
  with open(path, "w") as own:
    handler = logging.StreamHandler(own)
    logging.root.addHandler(handler)
    try:
      with native_logs_to(tmp_path / "native.log"):
        pass
      assert handler.stream is own
    finally:
      logging.root.removeHandler(handler)
