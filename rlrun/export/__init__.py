"""`rlrun export`: a saved greedy policy as a TFLite or ONNX file that runs without TensorFlow."""
