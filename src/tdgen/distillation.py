"""Distillation into a freshly initialised network, and the measures of claim 5.

Lyle et al. (2022), Sec. 5: a network trained from scratch to imitate a trained
agent's outputs on the agent's own states (no TD targets) generalizes better than
the agent.  One function, :func:`make_distill`, trains a student for both uses:

* value distillation (DQN): :func:`q_regression_loss`, ``½ mean_a (Q_s(x, a) − Q_t(x, a))²``;
* policy distillation (PPO): :func:`policy_distillation_loss`,
  ``KL(π_t(·|x) ‖ π_s(·|x)) + c · ½ (V_s(x) − V_t(x))²``.

Around it: policies as pure functions ``(params, key, obs [N, ...]) -> action [N]``,
:func:`rollout` of a policy in a batch of environments (states for the dataset, and
returns), :func:`first_episode_returns`, input perturbations (:func:`bit_flip`) with
:func:`action_agreement`, and :func:`path_statistics` along straight paths between
two observations (interpolation consistency).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tdgen.envs import MINATAR_ENVS, Env, vmap_over
from tdgen.rl.policies import Policy
from tdgen.rl.rollouts import visited_states
from tdgen.validate import integer, positive_float, positive_int


def bit_flip(key: jax.Array, obs: jax.Array, probability: float | jax.Array) -> jax.Array:
    """Flip every cell of a binary observation independently with ``probability``: ``x ⊕ Bernoulli(p)``."""
    flips = jax.random.uniform(key, obs.shape) < probability
    return jnp.where(flips, 1 - obs, obs).astype(obs.dtype)


def pixel_noise(key: jax.Array, obs: jax.Array, sigma: float | jax.Array) -> jax.Array:
    """Gaussian noise on ``uint8`` pixels: ``clip(round(x + 255 σ ε), 0, 255)``, ε ~ N(0, 1) per pixel.

    ``sigma`` is the noise's standard deviation as a fraction of the 0–255 range.
    """
    noisy = obs.astype(jnp.float32) + 255.0 * sigma * jax.random.normal(key, obs.shape)
    return jnp.clip(jnp.round(noisy), 0, 255).astype(obs.dtype)


Noise = Callable[[jax.Array, jax.Array, float | jax.Array], jax.Array]  # (key, obs, strength) -> noisy obs


def observation_noise(env_name: str) -> tuple[Noise, str]:
    """The input perturbation that suits ``env_name``'s observations, and what its strength means.

    MinAtar's binary cells: :func:`bit_flip` (strength: flip probability); pixels
    (Atari, ProcGen): :func:`pixel_noise` (strength: σ as a fraction of 0–255).
    """
    if env_name in MINATAR_ENVS:
        return bit_flip, "bit-flip probability p per observation cell"
    return pixel_noise, "pixel-noise σ (fraction of the 0–255 range)"


def action_agreement(
    apply: Callable,
    params: Any,
    obs: jax.Array,
    key: jax.Array,
    strength: float | jax.Array,
    noise: Noise = bit_flip,
) -> jax.Array:
    """Fraction of states ``obs [N, ...]`` whose greedy action survives ``noise`` (bit flips by default)."""
    clean = apply(params, obs).argmax(-1)
    noisy = apply(params, noise(key, obs, strength)).argmax(-1)
    return (clean == noisy).mean()


def interpolation_paths(first: jax.Array, second: jax.Array, points: int) -> jax.Array:
    """Straight paths ``x(t) = (1 − t) a + t b`` at ``points`` even steps of t: ``[P, ...] -> [P, points, ...]``."""
    if first.shape != second.shape:
        raise ValueError(f"path ends must have the same shape, got {first.shape} and {second.shape}")
    integer("points", points, low=2)  # a path needs both of its ends
    t = jnp.linspace(0.0, 1.0, points).reshape((1, points) + (1,) * (first.ndim - 1))
    a, b = first[:, None].astype(jnp.float32), second[:, None].astype(jnp.float32)
    return (1.0 - t) * a + t * b


def path_statistics(apply: Callable, params: Any, paths: jax.Array) -> dict[str, jax.Array]:
    """Consistency of a Q-network along interpolation paths ``[P, K, ...]``, per path ``[P]``.

    * ``switches``: how often the greedy action changes between neighbouring points;
    * ``variation_ratio``: total variation of Q along the path over the change between
      its ends, ``Σ_k ‖Q(x_{k+1}) − Q(x_k)‖₁ / ‖Q(x_K) − Q(x_0)‖₁`` (1 for a monotone path,
      larger when Q wiggles; scale-free, so teacher and student compare).
    """
    num_paths, points = paths.shape[:2]
    q = apply(params, paths.reshape((num_paths * points, *paths.shape[2:]))).reshape((num_paths, points, -1))
    greedy = q.argmax(-1)
    switches = (greedy[:, 1:] != greedy[:, :-1]).sum(-1)
    variation = jnp.abs(jnp.diff(q, axis=1)).sum((1, 2))
    net_change = jnp.abs(q[:, -1] - q[:, 0]).sum(-1)
    return {"switches": switches, "variation_ratio": variation / jnp.maximum(net_change, 1e-8)}


def q_regression_loss(student_q: jax.Array, teacher_q: jax.Array) -> jax.Array:
    """Value distillation: ``½ mean over the batch and actions of (Q_s − Q_t)²``, ``[B, A], [B, A] -> []``."""
    if student_q.shape != teacher_q.shape:
        raise ValueError(f"student and teacher Q-values differ in shape: {student_q.shape} vs {teacher_q.shape}")
    return 0.5 * jnp.mean((student_q - teacher_q) ** 2)


def policy_distillation_loss(
    student: tuple[jax.Array, jax.Array], teacher: tuple[jax.Array, jax.Array], value_coef: float = 0.5
) -> jax.Array:
    """Policy distillation: ``mean_B KL(π_t ‖ π_s) + value_coef · ½ mean_B (V_s − V_t)²``.

    ``student``, ``teacher``: ``(logits [B, A], value [B])`` of an actor-critic.
    """
    (s_logits, s_value), (t_logits, t_value) = student, teacher
    if s_logits.shape != t_logits.shape:
        raise ValueError(f"student and teacher logits differ in shape: {s_logits.shape} vs {t_logits.shape}")
    t_log = jax.nn.log_softmax(t_logits)
    kl = (jnp.exp(t_log) * (t_log - jax.nn.log_softmax(s_logits))).sum(-1).mean()
    return kl + value_coef * 0.5 * jnp.mean((s_value - t_value) ** 2)


def make_distill(
    apply: Callable, loss: Callable[[Any, Any], jax.Array], num_steps: int, batch_size: int, learning_rate: float
) -> Callable[[jax.Array, Any, jax.Array, Any], tuple[Any, jax.Array]]:
    """``distill(rng, params, obs, targets) -> (params, losses [num_steps])``: Adam on ``loss(apply(params, x), y)``.

    ``obs`` ``[D, ...]`` are the teacher's states and ``targets`` the teacher's outputs
    on them (any pytree with leading ``[D]``); each step draws a minibatch of
    ``batch_size`` states uniformly.  One jit-able ``lax.scan``; vmap it over seeds.
    """
    positive_int("num_steps", num_steps)
    positive_int("batch_size", batch_size)
    positive_float("learning_rate", learning_rate)
    tx = optax.adam(learning_rate)

    def distill(rng: jax.Array, params: Any, obs: jax.Array, targets: Any) -> tuple[Any, jax.Array]:
        size = obs.shape[0]
        leading = {np.shape(x)[0] for x in jax.tree.leaves(targets)}
        if leading != {size}:
            raise ValueError(f"targets must have the states' leading size {size}, got {sorted(leading)}")

        def step(carry, key):
            params, opt_state = carry
            index = jax.random.randint(key, (batch_size,), 0, size)
            target = jax.tree.map(lambda x: x[index], targets)
            value, grads = jax.value_and_grad(lambda p: loss(apply(p, obs[index]), target))(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), jax.random.split(rng, num_steps))
        return params, losses

    return distill


def distill_teachers(
    network: Any,
    teachers: Any,
    policy: Policy,
    env: Env,
    num_steps: int,
    students: int,
    loss: Callable[[Any, Any], jax.Array],
    distill_steps: int,
    batch_size: int,
    learning_rate: float,
    rng: jax.Array,
) -> tuple[Any, jax.Array, jax.Array]:
    """Distil ``students`` fresh copies of ``network`` from each teacher, all in one ``vmap``.

    ``teachers``: parameters with a leading ``[T]`` axis.  Each teacher acts with
    ``policy`` for ``num_steps`` steps in ``env`` (its own keys; one after another for
    an envpool pool, see :func:`~tdgen.envs.vmap_over`); ``loss`` compares the
    student's ``network.apply`` outputs with the teacher's on those states (see
    :func:`make_distill`).  Returns ``networks`` — every parameter leaf
    ``[T, 1 + students, ...]``, index 0 the teacher itself —, the states
    ``[T, D, ...]`` and the students' loss curves ``[T, students, distill_steps]``.
    """
    num_teachers = jax.tree.leaves(teachers)[0].shape[0]
    data_key, init_key, fit_key = jax.random.split(rng, 3)
    collect = jax.jit(vmap_over(lambda params, key: visited_states(env, policy, params, num_steps, key), env))
    states = collect(teachers, jax.random.split(data_key, num_teachers))
    outputs = lambda params, obs: jax.lax.map(lambda x: network.apply(params, x[None]), obs, batch_size=1024)
    targets = jax.tree.map(lambda y: y[:, :, 0], jax.jit(jax.vmap(outputs))(teachers, states))  # in batches
    fresh = jax.vmap(jax.vmap(lambda key: network.init(key, states[0, :1])))(
        jax.random.split(init_key, (num_teachers, students))
    )
    fit = make_distill(network.apply, loss, distill_steps, batch_size, learning_rate)
    fitted, losses = jax.jit(jax.vmap(jax.vmap(fit, in_axes=(0, 0, None, None))))(
        jax.random.split(fit_key, (num_teachers, students)), fresh, states, targets
    )
    networks = jax.tree.map(lambda t, s: jnp.concatenate([t[:, None], s], axis=1), teachers, fitted)
    return networks, states, losses
