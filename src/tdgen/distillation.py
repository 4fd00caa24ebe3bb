"""Distillation into a freshly initialised network, and the measures of claim 5.

Lyle et al. (2022), Sec. 5: a network trained from scratch to imitate a trained
agent's outputs on the agent's own states (no TD targets) generalizes better than
the agent.  One function, :func:`make_distill`, trains a student for both uses:

* value distillation (DQN): :func:`q_regression_loss`, ``½ mean_a (Q_s(x, a) − Q_t(x, a))²``;
* policy distillation (PPO): :func:`policy_distillation_loss`,
  ``KL(π_t(·|x) ‖ π_s(·|x)) + c · ½ (V_s(x) − V_t(x))²``.

:func:`teacher_states` collects the data (the states of each teacher's own play),
:func:`distill_teachers` distils students from every teacher in one ``vmap`` and
:func:`distill_lengths` does so for several numbers of Adam steps.  The measures
compare every network of a row ``[T, M]`` — a teacher (column 0) and its students —
on the same states and keys:

* robustness: input perturbations (:func:`bit_flip`, :func:`pixel_noise`,
  :func:`observation_noise`), the return under them (:func:`noisy_returns`) and
  greedy-action agreement (:func:`action_agreement`, :func:`noisy_agreement`);
* consistency along straight paths between two states (:func:`interpolation_paths`,
  :func:`path_statistics`, :func:`interpolation_consistency`);
* interference (claim 4's update matrices, :func:`interference_ratios`);
* generalization to unseen levels (:func:`distill_on_levels`);
* the claim's paired comparisons, one per (teacher, student) pair
  (:func:`student_minus_teacher`, :func:`student_teacher_pairs`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tdgen.envs import MINATAR_ENVS, Env, make_env, vmap_over
from tdgen.interference import off_diagonal_ratios, q_update_matrix
from tdgen.profiles import DistillBudget
from tdgen.rl.agents import over_runs
from tdgen.rl.fit import gradient_steps
from tdgen.rl.networks import ActorCritic
from tdgen.rl.policies import Policy, perturbed, softmax_policy
from tdgen.rl.rollouts import actor_critic_returns, mean_episode_return, visited_states
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


Noise = Callable[[jax.Array, jax.Array, float | jax.Array], jax.Array]
"""An input perturbation ``(key, obs, strength) -> noisy obs`` (same shape and dtype), e.g. :func:`bit_flip`."""


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

        def minibatch_loss(params: Any, key: jax.Array) -> jax.Array:
            index = jax.random.randint(key, (batch_size,), 0, size)
            target = jax.tree.map(lambda x: x[index], targets)
            return loss(apply(params, obs[index]), target)

        fitted = gradient_steps(minibatch_loss, tx, params, jax.random.split(rng, num_steps), return_losses=True)
        return fitted.params, fitted.losses

    return distill


def teacher_states(env: Env, policy: Policy, teachers: Any, num_steps: int, rng: jax.Array) -> jax.Array:
    """The states each teacher acts on in ``num_steps`` steps of ``env``: ``[T, num_steps · num_envs, ...]``.

    ``teachers``: parameters with a leading ``[T]`` axis; teacher ``t`` plays ``policy``
    with key ``split(rng, T)[t]`` (:func:`~tdgen.rl.rollouts.visited_states`), all in one
    ``vmap`` — one teacher after another for an envpool pool
    (:func:`~tdgen.envs.interface.vmap_over`).
    """
    num_teachers = jax.tree.leaves(teachers)[0].shape[0]
    collect = jax.jit(vmap_over(lambda params, key: visited_states(env, policy, params, num_steps, key), env))
    return collect(teachers, jax.random.split(rng, num_teachers))


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
    ``policy`` for ``num_steps`` steps in ``env`` (:func:`teacher_states`); ``loss``
    compares the student's ``network.apply`` outputs with the teacher's on those states
    (see :func:`make_distill`).  Returns ``networks`` — every parameter leaf
    ``[T, 1 + students, ...]``, index 0 the teacher itself —, the states
    ``[T, D, ...]`` and the students' loss curves ``[T, students, distill_steps]``.
    """
    num_teachers = jax.tree.leaves(teachers)[0].shape[0]
    data_key, init_key, fit_key = jax.random.split(rng, 3)
    states = teacher_states(env, policy, teachers, num_steps, data_key)
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


def distill_lengths(
    network: Any,
    teachers: Any,
    policy: Policy,
    env: Env,
    loss: Callable[[Any, Any], jax.Array],
    lengths: Sequence[int],
    budget: DistillBudget,
    rng: jax.Array,
) -> tuple[Any, dict[int, jax.Array]]:
    """:func:`distill_teachers` once per number of Adam steps in ``lengths``, from the same ``rng``.

    The data are ``budget.dataset_steps`` steps of each teacher's play in ``env``,
    ``budget.students`` students per teacher fit them with minibatches of
    ``budget.batch_size`` at Adam's ``budget.learning_rate``.  Every length sees the same
    data and starts from the same initialisations, so the students of two lengths differ
    only in how long they were fitted.  Returns ``networks``, every parameter leaf
    ``[T, 1 + len(lengths) · students, ...]``: the teacher (column 0), then the students
    of each length in the order of ``lengths``; and each length's loss curves
    ``{length: [T, students, length]}``.
    """
    runs = [
        distill_teachers(
            network,
            teachers,
            policy,
            env,
            budget.dataset_steps,
            budget.students,
            loss,
            length,
            budget.batch_size,
            budget.learning_rate,
            rng,
        )
        for length in lengths
    ]
    networks = jax.tree.map(
        lambda first, *more: jnp.concatenate([first, *(m[:, 1:] for m in more)], axis=1), *(r[0] for r in runs)
    )
    return networks, {length: run[2] for length, run in zip(lengths, runs, strict=True)}


def _rows_and_columns(networks: Any) -> tuple[int, int]:
    """``(T, M)``, the two leading axes of the parameter leaves of ``networks``."""
    return jax.tree.leaves(networks)[0].shape[:2]


def _teacher_index(networks: Any) -> np.ndarray:
    """``[T, M]``: every network's row, its teacher's index (to map over ``(networks, index)`` pairs)."""
    rows, columns = _rows_and_columns(networks)
    return np.repeat(np.arange(rows)[:, None], columns, axis=1)


def noisy_returns(
    env: Env,
    policy: Policy,
    networks: Any,
    noise: Noise,
    levels: Sequence[float],
    num_steps: int,
    rng: jax.Array,
) -> np.ndarray:
    """Mean return of every network acting on noisy observations, ``[T, M, L]`` (NumPy).

    Network ``m`` of row ``t`` (leaves ``[T, M, ...]``) plays ``policy`` on
    ``noise(k, x, levels[l])`` instead of ``x`` (:func:`~tdgen.rl.policies.perturbed`)
    for one episode per environment of ``env``, cut at ``num_steps`` steps
    (:func:`~tdgen.rl.rollouts.mean_episode_return`).  Row ``t`` plays with key
    ``split(rng, T)[t]``: its networks, at every level, meet the same episodes and the
    same noise (in an envpool pool they play one after another instead,
    :func:`~tdgen.envs.interface.vmap_over`).
    """

    def one(params: Any, key: jax.Array, level: jax.Array) -> jax.Array:
        acting = perturbed(policy, lambda k, obs: noise(k, obs, level))
        return mean_episode_return(env, acting, params, num_steps, key)

    rows, _ = _rows_and_columns(networks)
    over_levels = vmap_over(one, env, in_axes=(None, None, 0))
    over_row = vmap_over(over_levels, env, in_axes=(0, None, None))
    over_rows = vmap_over(over_row, env, in_axes=(0, 0, None))
    return np.asarray(jax.jit(over_rows)(networks, jax.random.split(rng, rows), jnp.asarray(levels)))


def noisy_agreement(
    apply: Callable,
    networks: Any,
    states: jax.Array,
    noise: Noise,
    levels: Sequence[float],
    rng: jax.Array,
    at_once: int = 0,
) -> np.ndarray:
    """:func:`action_agreement` of every network at every noise level, ``[T, M, L]`` (NumPy).

    Network ``m`` of row ``t`` (leaves ``[T, M, ...]``) is tested on its teacher's states
    ``states[t]`` (``states``: ``[T, N, ...]``) with key ``split(rng, T)[t]``: a teacher
    and its students see the same noise.  ``at_once`` as in
    :func:`~tdgen.rl.agents.over_runs` (0: one ``vmap`` over all networks).
    """
    rows, _ = _rows_and_columns(networks)
    keys = jax.random.split(rng, rows)
    levels = jnp.asarray(levels)

    def one(params: Any, row: jax.Array, level: jax.Array) -> jax.Array:
        return action_agreement(apply, params, states[row], keys[row], level, noise)

    over_levels = jax.vmap(one, in_axes=(None, None, 0))
    return np.asarray(over_runs(lambda pair: over_levels(*pair, levels), (networks, _teacher_index(networks)), at_once))


def interpolation_consistency(
    apply: Callable,
    networks: Any,
    states: jax.Array,
    num_paths: int,
    points: int,
    rng: jax.Array,
    at_once: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean greedy-action switches and median variation ratio along random paths, each ``[T, M]`` (NumPy).

    Row ``t`` draws ``num_paths`` pairs of its teacher's states ``states[t]``
    (``states``: ``[T, N, ...]``; ends uniform over ``N`` with key ``split(rng, T)[t]``),
    so a teacher and its students walk the same paths ``x(s) = (1 − s) x_a + s x_b``
    of ``points`` points (:func:`interpolation_paths`).  Per network:
    ``mean_paths switches`` and ``median_paths variation_ratio`` of
    :func:`path_statistics`.  ``at_once`` as in :func:`~tdgen.rl.agents.over_runs`.
    """
    rows, _ = _rows_and_columns(networks)
    draw = lambda key: jax.random.randint(key, (2, num_paths), 0, states.shape[1])
    ends = jax.vmap(draw)(jax.random.split(rng, rows))  # [T, 2, paths]

    def one(pair: tuple[Any, jax.Array]) -> tuple[jax.Array, jax.Array]:
        params, row = pair
        first, second = states[row][ends[row]]  # each [paths, ...]
        out = path_statistics(apply, params, interpolation_paths(first, second, points))
        return out["switches"].mean(), jnp.median(out["variation_ratio"])

    switches, variation = over_runs(one, (networks, _teacher_index(networks)), at_once)
    return np.asarray(switches), np.asarray(variation)


def interference_ratios(
    apply: Callable, networks: Any, batch: dict, gamma: float, learning_rate: float, at_once: int = 0
) -> np.ndarray:
    """Off-diagonal ratio of every Q-network's update matrix on ``batch``, ``[T, M]`` (NumPy).

    Claim 4's measure: the ``[n, n]`` matrix :func:`~tdgen.interference.q_update_matrix`
    of each network (leaves ``[T, M, ...]``) on the ``n`` transitions of ``batch``,
    summarised by :func:`~tdgen.interference.off_diagonal_ratio`,
    ``mean_{i≠j} |U_ij| / mean_i |U_ii|``.  ``at_once`` as in
    :func:`~tdgen.rl.agents.over_runs`.
    """
    matrix = lambda params: q_update_matrix(apply, params, batch=batch, gamma=gamma, learning_rate=learning_rate)
    return off_diagonal_ratios(np.asarray(over_runs(matrix, networks, at_once)))


LEVEL_SETS = ("training", "unseen")
"""The level sets of :func:`distill_on_levels`, in the order it plays them."""
ACTION_MODES = ("sampled", "greedy")
"""How a policy acts in :func:`distill_on_levels`: sampling from ``π``, or its most likely action."""


def distill_on_levels(
    teachers: Any, levels: tuple[str, str, int], budget: DistillBudget, distill_rng: jax.Array, eval_rng: jax.Array
) -> tuple[dict[tuple[str, str], np.ndarray], jax.Array]:
    """Policy distillation on training levels, and the returns of teachers and students on both level sets.

    ``teachers``: :class:`~tdgen.rl.networks.ActorCritic` parameters, leading ``[T]``;
    ``levels``: ``(training levels, unseen levels, episode step limit)`` of
    :func:`~tdgen.envs.level_split`.  :func:`distill_teachers` fits ``budget.students``
    students per teacher with :func:`policy_distillation_loss` on the states of the
    teachers' sampled play (``budget.dataset_envs × budget.dataset_steps``) on the
    training levels only, with key ``distill_rng``.  Then every network plays
    ``budget.eval_episodes`` episodes on each level set, with key ``eval_rng``
    (:func:`~tdgen.rl.rollouts.actor_critic_returns`).  Returns
    ``{(level set, mode): [T, 1 + students]}`` mean returns (column 0 the teacher; level
    sets :data:`LEVEL_SETS`, modes :data:`ACTION_MODES`) and the students' loss curves
    ``[T, students, budget.distill_steps]``.
    """
    train_levels, test_levels, episode_steps = levels
    network = ActorCritic(make_env(train_levels).num_actions)
    networks, _, losses = distill_teachers(
        network,
        teachers,
        softmax_policy(network.apply),
        make_env(train_levels, budget.dataset_envs),
        budget.dataset_steps,
        budget.students,
        policy_distillation_loss,
        budget.distill_steps,
        budget.batch_size,
        budget.learning_rate,
        distill_rng,
    )
    returns = {}
    for level_set, name in zip(LEVEL_SETS, (train_levels, test_levels), strict=True):
        env = make_env(name, budget.eval_episodes)
        both = np.asarray(actor_critic_returns(network.apply, networks, env, episode_steps, eval_rng))
        returns |= {(level_set, mode): both[..., i] for i, mode in enumerate(ACTION_MODES)}
    return returns, losses


def student_minus_teacher(values: np.ndarray, students: int) -> np.ndarray:
    """``values[t, s] − values[t, 0]`` for the first ``students`` students of every teacher, ``[T · students]``.

    ``values``: one number per network, ``[T, M]`` with the teacher in column 0 and its
    students next (later columns, e.g. students of another length, are left out).  One
    difference per (teacher, student) pair, teacher-major.
    """
    student, teacher = student_teacher_pairs(values, students)
    return student - teacher


def student_teacher_pairs(values: np.ndarray, students: int) -> tuple[np.ndarray, np.ndarray]:
    """``(student, teacher)``, each ``[T · students]``: every (teacher, student) pair of ``values [T, M]``.

    As :func:`student_minus_teacher`, but the two values of each pair side by side (the
    teacher's repeated for each of its students), for a ratio of means over the pairs.
    """
    values = np.asarray(values)[:, : 1 + students]
    return values[:, 1:].ravel(), np.repeat(values[:, 0], students)
