"""A readable repr for the namedtuples of this package: the fields as a sorted dict."""

import pprint


def nest_repr(value) -> str:
  return f"{type(value).__name__}(\n{pprint.pformat(dict(value._asdict()))})"
