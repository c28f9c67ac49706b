"""QNetwork, Sequential, EncodingNetwork folding, copy() and the numpy mirror."""

import numpy as np
import pytest
import tensorflow as tf

from rlrun.networks.numpy_mirror import NumpyMirror
from rlrun.networks.q_network import QNetwork, num_actions_of
from rlrun.networks.sequential import Sequential
from rlrun.specs import tensor_spec

OBS_SPEC = tf.TensorSpec((4,), tf.float32, "obs")
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2, "action")


@pytest.fixture(scope="module")
def q_net():
  net = QNetwork(OBS_SPEC, ACTION_SPEC, fc_layer_params=(8, 5))
  net.create_variables()
  return net


def _obs(*shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape + (4,)).astype(np.float32)


def test_q_network_output_shape(q_net):
  assert q_net.num_actions == 3
  q, state = q_net(_obs(6))
  assert q.shape == (6, 3) and q.dtype == tf.float32 and state == ()
  assert q_net.create_variables().shape == (3,)


def test_q_network_folds_time_dim(q_net):
  obs = _obs(2, 5)
  q_bt, _ = q_net(obs)
  assert q_bt.shape == (2, 5, 3)
  q_flat, _ = q_net(obs.reshape(10, 4))
  np.testing.assert_allclose(q_bt.numpy().reshape(10, 3), q_flat.numpy(), rtol=1e-6, atol=1e-6)


def test_q_network_default_last_layer_bias(q_net):
  bias = q_net.layers_in_order[-1].bias.numpy()
  np.testing.assert_allclose(bias, [-0.2, -0.2, -0.2])


def test_copy_has_same_architecture_but_independent_variables(q_net):
  clone = q_net.copy()
  clone.create_variables()
  assert clone is not q_net and type(clone) is QNetwork
  assert [v.shape for v in clone.trainable_variables] == [
      v.shape for v in q_net.trainable_variables]
  assert all(a is not b for a, b in zip(clone.trainable_variables, q_net.trainable_variables))
  kernel = clone.trainable_variables[0]
  original = q_net.trainable_variables[0].numpy().copy()
  kernel.assign(kernel + 1.0)
  np.testing.assert_array_equal(q_net.trainable_variables[0].numpy(), original)
  # a fresh initialisation differs from the original's
  assert not np.allclose(clone.trainable_variables[0].numpy() - 1.0, original)
  renamed = q_net.copy(name="target")
  assert renamed.name == "target"


@pytest.mark.parametrize("spec", [
    tensor_spec.BoundedTensorSpec((), tf.float32, 0.0, 1.0, "float_action"),
    tensor_spec.BoundedTensorSpec((2,), tf.int32, 0, 3, "vector_action"),
])
def test_wrong_action_spec_raises_naming_the_spec(spec):
  with pytest.raises(ValueError, match=f"single scalar integer action spec.*{spec.name}"):
    QNetwork(OBS_SPEC, spec, fc_layer_params=(4,))


def test_num_actions_of():
  assert num_actions_of(tensor_spec.BoundedTensorSpec((), tf.int32, 2, 4)) == 3
  assert num_actions_of(tensor_spec.BoundedTensorSpec((1,), tf.int32, 0, 1)) == 2


def test_sequential_of_dense_layers():
  net = Sequential([
      tf.keras.layers.Dense(3, activation="relu", kernel_initializer="ones",
                            bias_initializer="zeros"),
      tf.keras.layers.Dense(2, kernel_initializer=tf.keras.initializers.Constant([[1.0, -1.0]] * 3),
                            bias_initializer=tf.keras.initializers.Constant([0.5, 0.0])),
  ], input_spec=tf.TensorSpec((2,), tf.float32))
  out, state = net(tf.constant([[1.0, 2.0], [-3.0, 1.0]]))
  # row 0: hidden relu(3)=3 each -> [9.5, -9]; row 1: relu(-2)=0 -> [0.5, 0]
  np.testing.assert_allclose(out.numpy(), [[9.5, -9.0], [0.5, 0.0]])
  assert state == ()
  assert net.create_variables().shape == (2,)
  assert len(net.layers) == 2
  clone = net.copy()
  clone_out, _ = clone(tf.constant([[1.0, 2.0]]))
  np.testing.assert_allclose(clone_out.numpy(), [[9.5, -9.0]])  # constant initializers
  assert clone.layers[0] is not net.layers[0]
  with pytest.raises(ValueError, match="at least one layer"):
    Sequential([])


def test_numpy_mirror_matches_q_network(q_net):
  mirror = NumpyMirror.of(q_net)
  assert mirror is not None and len(mirror.variables) == 6
  obs = _obs(16, seed=1)
  np.testing.assert_allclose(mirror(obs), q_net(obs)[0].numpy(), atol=1e-5, rtol=1e-5)


def test_numpy_mirror_matches_sequential_and_updates():
  net = Sequential([tf.keras.layers.Dense(7, activation="tanh"),
                    tf.keras.layers.Dense(5, activation="elu"),
                    tf.keras.layers.Dense(2)], input_spec=tf.TensorSpec((3,), tf.float32))
  net.create_variables()
  mirror = NumpyMirror.of(net)
  obs = np.random.default_rng(2).normal(size=(9, 3)).astype(np.float32)
  np.testing.assert_allclose(mirror(obs), net(obs)[0].numpy(), atol=1e-5, rtol=1e-5)
  last_bias = net.layers[-1].bias
  last_bias.assign([3.0, -4.0])
  stale = mirror(obs)
  assert not np.allclose(stale, net(obs)[0].numpy(), atol=1e-3)  # a snapshot until update()
  mirror.update()
  np.testing.assert_allclose(mirror(obs), net(obs)[0].numpy(), atol=1e-5, rtol=1e-5)
  with pytest.raises(ValueError, match="expected 6 weight arrays, got 1"):
    mirror.set_weights([np.zeros(1)])


def test_numpy_mirror_rejects_conv_networks():
  net = QNetwork(tf.TensorSpec((6, 6, 1), tf.float32), ACTION_SPEC,
                 conv_layer_params=[(2, 3, 1)], fc_layer_params=(4,))
  net.create_variables()
  assert NumpyMirror.of(net) is None
  seq = Sequential([tf.keras.layers.Conv2D(2, 3), tf.keras.layers.Flatten(),
                    tf.keras.layers.Dense(2)], input_spec=tf.TensorSpec((5, 5, 1), tf.float32))
  seq.create_variables()
  assert NumpyMirror.of(seq) is None


def test_uint8_frames_first_are_transposed_cast_and_scaled_inside_the_network():
  scaled = QNetwork(tf.TensorSpec((2, 6, 6), tf.uint8), ACTION_SPEC, conv_layer_params=[(2, 3, 1)],
                    fc_layer_params=(4,), input_scale=1 / 255, channels_first=True)
  plain = QNetwork(tf.TensorSpec((6, 6, 2), tf.float32), ACTION_SPEC,
                   conv_layer_params=[(2, 3, 1)], fc_layer_params=(4,))
  scaled.create_variables()
  plain.create_variables()
  plain.set_weights(scaled.get_weights())
  pixels = np.random.default_rng(0).integers(0, 256, (3, 2, 6, 6)).astype(np.uint8)
  channels_last = np.transpose(pixels, (0, 2, 3, 1)) / 255.0
  np.testing.assert_allclose(scaled(tf.constant(pixels))[0].numpy(),
                             plain(tf.constant(channels_last, tf.float32))[0].numpy(), rtol=1e-5)
  # Outer dims beyond the batch fold in as well: [B, T, 2, 6, 6].
  assert scaled(tf.constant(pixels[None]))[0].shape == (1, 3, 3)
  assert scaled.input_scale == pytest.approx(1 / 255) and scaled.channels_first
  with pytest.raises(ValueError, match="channels_first needs"):
    QNetwork(OBS_SPEC, ACTION_SPEC, channels_first=True)


def test_numpy_mirror_declines_a_network_that_scales_its_input():
  net = QNetwork(OBS_SPEC, ACTION_SPEC, fc_layer_params=(4,), input_scale=0.5)
  net.create_variables()
  assert NumpyMirror.of(net) is None
