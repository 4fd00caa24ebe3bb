"""Agent networks: a torso (MinAtar, Nature CNN or IMPALA CNN) with a Q head, or with policy and value heads.

The torso follows the environment (:func:`torso_for`): MinAtar games the MinAtar
network, ``atari:*`` the Nature CNN, ``procgen:*`` the IMPALA CNN.  :class:`QNetwork` and
:class:`ActorCritic` take it as ``torso``; left ``None`` they pick it from the
observations' height and width (10×10 MinAtar, 84×84 Atari, 64×64 ProcGen), so
``QNetwork(env.num_actions)`` fits every environment of :mod:`tdgen.envs`, and the
MinAtar parameter tree (``MinAtarTorso_0/...``) is the one it always was.

MinAtar torso (Young & Tian, 2019): one 3×3 convolution with 16 channels (stride 1, no padding) and ReLU, then a
dense layer of 128 ReLU units — ``[batch, 10, 10, C] -> [batch, 128]``.  Inputs may be
``uint8`` (MinAtar observations are binary); they are cast to ``float32``.
The convolution is computed as im2col — the nine shifted 8×8 windows concatenated
along channels, then a dense layer ``[9·C] -> [16]`` — which is the same function
(kernel ``[3, 3, C, 16]`` flattened) but ~10× faster to differentiate on XLA:CPU
inside a ``lax.scan``, where native convolution gradients are slow.
Nature CNN (Mnih et al., 2015): convolutions 32×8×8/4, 64×4×4/2, 64×3×3/1 (VALID) and a
dense layer of 512, all ReLU — ``[batch, 84, 84, 4] -> [batch, 512]``.
IMPALA CNN (Espeholt et al., 2018): three stacks of (3×3 convolution, 3×3 max-pool
with stride 2, two residual blocks ``x + conv(relu(conv(relu(x))))``) with 16, 32, 32
channels, then ReLU and a dense layer of 256 with ReLU — ``[batch, 64, 64, 3] -> [batch, 256]``.
Both scale their ``uint8`` pixels by 1/255.
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


class NatureCNN(nn.Module):
    """The DQN torso of Mnih et al. (2015): ``uint8 [batch, 84, 84, 4] -> [batch, 512]``."""

    hidden: int = 512

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        init = nn.initializers.orthogonal(HIDDEN_GAIN)
        x = obs.astype(jnp.float32) / 255.0
        for features, size, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            x = nn.relu(nn.Conv(features, (size, size), (stride, stride), padding="VALID", kernel_init=init)(x))
        x = x.reshape((*x.shape[:-3], -1))
        return nn.relu(nn.Dense(self.hidden, kernel_init=init)(x))


class ResidualBlock(nn.Module):
    """``x + conv(relu(conv(relu(x))))`` with 3×3 SAME convolutions keeping the channels."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        init = nn.initializers.orthogonal(HIDDEN_GAIN)
        channels = x.shape[-1]
        y = nn.Conv(channels, (3, 3), padding="SAME", kernel_init=init)(nn.relu(x))
        y = nn.Conv(channels, (3, 3), padding="SAME", kernel_init=init)(nn.relu(y))
        return x + y


class ImpalaCNN(nn.Module):
    """The IMPALA torso of Espeholt et al. (2018): ``uint8 [batch, 64, 64, 3] -> [batch, 256]``."""

    channels: tuple[int, ...] = (16, 32, 32)
    hidden: int = 256

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        init = nn.initializers.orthogonal(HIDDEN_GAIN)
        x = obs.astype(jnp.float32) / 255.0
        for channels in self.channels:
            x = nn.Conv(channels, (3, 3), padding="SAME", kernel_init=init)(x)
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
            x = ResidualBlock()(ResidualBlock()(x))
        x = nn.relu(x).reshape((*x.shape[:-3], -1))
        return nn.relu(nn.Dense(self.hidden, kernel_init=init)(x))


TORSOS: dict[str, type[nn.Module]] = {"minatar": MinAtarTorso, "nature": NatureCNN, "impala": ImpalaCNN}


def torso_for(env_name: str) -> str:
    """The torso for an environment name of :func:`tdgen.envs.make_env`: ``"minatar"``, ``"nature"`` or ``"impala"``."""
    suite = env_name.partition(":")[0] if ":" in env_name else ""
    return {"atari": "nature", "procgen": "impala"}.get(suite, "minatar")


def torso_for_observation(shape: tuple[int, ...]) -> str:
    """The torso for observations ``[..., H, W, C]``: 84×84 → Nature, 64×64 → IMPALA, anything else → MinAtar."""
    return {(84, 84): "nature", (64, 64): "impala"}.get(tuple(shape[-3:-1]), "minatar")


def make_torso(torso: str | None, obs: jax.Array) -> nn.Module:
    """The torso module named ``torso`` (``None``: from the observations' shape); call inside a compact module."""
    name = torso or torso_for_observation(obs.shape)
    if name not in TORSOS:
        raise ValueError(f"unknown torso {name!r}; known: {', '.join(TORSOS)}")
    return TORSOS[name]()


class QNetwork(nn.Module):
    """A torso (:func:`torso_for`) and a linear Q head: ``[batch, H, W, C] -> Q [batch, num_actions]``."""

    num_actions: int
    torso: str | None = None

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        x = make_torso(self.torso, obs)(obs)
        return nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(1.0))(x)


class ActorCritic(nn.Module):
    """A shared torso with policy and value heads: ``obs -> (logits [batch, num_actions], value [batch])``."""

    num_actions: int
    torso: str | None = None

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = make_torso(self.torso, obs)(obs)
        logits = nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(0.01))(x)
        value = nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0))(x)[..., 0]
        return logits, value


class MLP(nn.Module):
    """Two hidden ReLU layers and a scalar output: ``[batch, d] -> [batch]``."""

    hidden: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.relu(nn.Dense(self.hidden)(x))
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(1)(x)[..., 0]
