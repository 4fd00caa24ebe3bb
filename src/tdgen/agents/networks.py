"""The MinAtar network (Young & Tian, 2019) with a Q head, and an actor-critic variant.

Torso: one 3×3 convolution with 16 channels (stride 1, no padding) and ReLU, then a
dense layer of 128 ReLU units — ``[batch, 10, 10, C] -> [batch, 128]``.  Inputs may be
``uint8`` (MinAtar observations are binary); they are cast to ``float32``.
The convolution is computed as im2col — the nine shifted 8×8 windows concatenated
along channels, then a dense layer ``[9·C] -> [16]`` — which is the same function
(kernel ``[3, 3, C, 16]`` flattened) but ~10× faster to differentiate on XLA:CPU
inside a ``lax.scan``, where native convolution gradients are slow.
Orthogonal initialisation as in PureJaxRL (gain √2 for hidden layers, 0.01 for policy
logits, 1 for values and Q-values).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

HIDDEN_GAIN = np.sqrt(2.0)


def patches_3x3(x: jax.Array) -> jax.Array:
    """im2col of a 3×3 stride-1 VALID convolution: ``[..., H, W, C] -> [..., H−2, W−2, 9·C]`` (row, column, C)."""
    h, w = x.shape[-3] - 2, x.shape[-2] - 2
    return jnp.concatenate([x[..., i : i + h, j : j + w, :] for i in range(3) for j in range(3)], axis=-1)


class MinAtarTorso(nn.Module):
    """Conv(16, 3×3) → ReLU → Dense(128) → ReLU: ``[batch, H, W, C] -> [batch, 128]``."""

    channels: int = 16
    hidden: int = 128

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        init = nn.initializers.orthogonal(HIDDEN_GAIN)
        x = obs.astype(jnp.float32)
        x = nn.relu(nn.Dense(self.channels, kernel_init=init)(patches_3x3(x)))
        x = x.reshape((*x.shape[:-3], -1))
        return nn.relu(nn.Dense(self.hidden, kernel_init=init)(x))


class QNetwork(nn.Module):
    """MinAtar torso and a linear Q head: ``[batch, H, W, C] -> Q [batch, num_actions]``."""

    num_actions: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        x = MinAtarTorso()(obs)
        return nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(1.0))(x)


class ActorCritic(nn.Module):
    """Shared MinAtar torso with policy and value heads: ``obs -> (logits [batch, num_actions], value [batch])``."""

    num_actions: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = MinAtarTorso()(obs)
        logits = nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(0.01))(x)
        value = nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0))(x)[..., 0]
        return logits, value
