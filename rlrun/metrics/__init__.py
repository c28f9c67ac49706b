"""rlrun.metrics: observers that summarise experience (returns, episode lengths, counts).

`py_metrics` holds the numpy metrics a PyDriver feeds (they import no TensorFlow);
`tf_metrics` holds their TensorFlow twins, usable inside in-graph drivers.
"""
