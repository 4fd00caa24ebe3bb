"""Distillation into a freshly initialised network, and the measures of claim 5.

Lyle et al. (2022), Sec. 5: a network trained from scratch to imitate a trained
agent's outputs on the agent's own states (no TD targets) generalizes better than
the agent.  One function, :func:`make_distill`, trains a student for both uses:

* value distillation (DQN): :func:`q_regression_loss`, ``½ mean_a (Q_s(x, a) − Q_t(x, a))²``;
* policy distillation (PPO): :func:`policy_distillation_loss`,
  ``KL(π_t(·|x) ‖ π_s(·|x)) + c · ½ (V_s(x) − V_t(x))²``.

:func:`teacher_states` collects the data (the states of each teacher's own play) and
:func:`distill_teachers` distils students from every teacher in one ``vmap``, each student
one run taken at several numbers of Adam steps (:func:`distill_lengths`, the lengths of
:attr:`~tdgen.profiles.DistillBudget.distill_schedule`), so that every measure can be read
against how closely the students fit their teachers.  The measures compare every network
of a row ``[T, M]`` — a teacher (column 0) and its students — on the same states and keys:

* fit to the teacher: :func:`q_error`, :func:`policy_kl` (:func:`teacher_divergence`, on
  held-out states :func:`spread_states`) and the return kept (:func:`return_fractions`);
* robustness: input perturbations (:func:`bit_flip`, :func:`pixel_noise`,
  :func:`observation_noise`), the return under them (:func:`noisy_returns`) and
  greedy-action agreement (:func:`action_agreement`, :func:`noisy_agreement`);
* consistency along straight paths between two states (:func:`interpolation_paths`,
  :func:`path_statistics`, :func:`interpolation_consistency`);
* interference (claim 4's update matrices, :func:`interference_ratios`);
* generalization to unseen levels (:func:`distill_on_levels`).

The values of a row split into the teacher and its students at each length
(:func:`by_length`); the claim compares each student with its own teacher
(:func:`student_teacher_pairs`) at the first length whose
students keep a given fraction of the teachers' return (:func:`verdict_length`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

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


def q_error(student_q: jax.Array, teacher_q: jax.Array) -> jax.Array:
    """The student's squared Q-error, ``mean over the batch and actions of (Q_s − Q_t)²``: ``[B, A], [B, A] -> []``."""
    if student_q.shape != teacher_q.shape:
        raise ValueError(f"student and teacher Q-values differ in shape: {student_q.shape} vs {teacher_q.shape}")
    return jnp.mean((student_q - teacher_q) ** 2)


def q_regression_loss(student_q: jax.Array, teacher_q: jax.Array) -> jax.Array:
    """Value distillation: ``½`` :func:`q_error`, ``½ mean (Q_s − Q_t)²``, ``[B, A], [B, A] -> []``."""
    return 0.5 * q_error(student_q, teacher_q)


def policy_kl(student: tuple[jax.Array, jax.Array], teacher: tuple[jax.Array, jax.Array]) -> jax.Array:
    """``mean_B KL(π_t(·|x) ‖ π_s(·|x))`` of two actor-critics' outputs ``(logits [B, A], value [B])``."""
    (s_logits, _), (t_logits, _) = student, teacher
    if s_logits.shape != t_logits.shape:
        raise ValueError(f"student and teacher logits differ in shape: {s_logits.shape} vs {t_logits.shape}")
    t_log = jax.nn.log_softmax(t_logits)
    return (jnp.exp(t_log) * (t_log - jax.nn.log_softmax(s_logits))).sum(-1).mean()


def policy_distillation_loss(
    student: tuple[jax.Array, jax.Array], teacher: tuple[jax.Array, jax.Array], value_coef: float = 0.5
) -> jax.Array:
    """Policy distillation: :func:`policy_kl` ``+ value_coef · ½ mean_B (V_s − V_t)²``.

    ``student``, ``teacher``: ``(logits [B, A], value [B])`` of an actor-critic.
    """
    return policy_kl(student, teacher) + value_coef * 0.5 * jnp.mean((student[1] - teacher[1]) ** 2)


def make_distill(
    apply: Callable,
    loss: Callable[[Any, Any], jax.Array],
    num_steps: int,
    batch_size: int,
    learning_rate: float,
    snapshots: Sequence[int] | None = None,
) -> Callable[[jax.Array, Any, jax.Array, Any], tuple[Any, jax.Array]]:
    """``distill(rng, params, obs, targets) -> (params, losses [num_steps])``: Adam on ``loss(apply(params, x), y)``.

    ``obs`` ``[D, ...]`` are the teacher's states and ``targets`` the teacher's outputs
    on them (any pytree with leading ``[D]``); step ``k`` draws a minibatch of
    ``batch_size`` states uniformly with key ``split(rng, num_steps)[k]``.  With
    ``snapshots`` (increasing step counts, the last ``num_steps``) the one run is taken
    after each of them, Adam's state carried on: every parameter leaf gets a leading
    ``[len(snapshots)]`` axis, entry ``k`` the student after ``snapshots[k]`` steps.  Jit-able
    (one ``lax.scan`` per snapshot); vmap it over seeds.
    """
    positive_int("num_steps", num_steps)
    positive_int("batch_size", batch_size)
    positive_float("learning_rate", learning_rate)
    stops = (num_steps,) if snapshots is None else tuple(snapshots)
    if not stops or stops[-1] != num_steps or any(b <= a for a, b in zip((0, *stops), stops)):
        raise ValueError(f"snapshots must increase from above 0 to num_steps = {num_steps}, got {snapshots}")
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

        keys, opt_state, taken, losses = jax.random.split(rng, num_steps), None, [], []
        for start, stop in zip((0, *stops), stops):
            fitted = gradient_steps(
                minibatch_loss, tx, params, keys[start:stop], opt_state=opt_state, return_losses=True
            )
            params, opt_state = fitted.params, fitted.opt_state
            taken.append(params)
            losses.append(fitted.losses)
        if snapshots is not None:
            params = jax.tree.map(lambda *p: jnp.stack(p), *taken)
        return params, jnp.concatenate(losses)

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
    lengths: Sequence[int],
    batch_size: int,
    learning_rate: float,
    rng: jax.Array,
) -> tuple[Any, jax.Array, jax.Array]:
    """Distil ``students`` fresh copies of ``network`` from each teacher, all in one ``vmap``, taken at ``lengths``.

    ``teachers``: parameters with a leading ``[T]`` axis.  Each teacher acts with
    ``policy`` for ``num_steps`` steps in ``env`` (:func:`teacher_states`); ``loss``
    compares the student's ``network.apply`` outputs with the teacher's on those states
    (see :func:`make_distill`).  Each student is one run of ``lengths[-1]`` Adam steps,
    snapshotted after each of ``lengths`` (increasing).  Returns ``networks`` — every
    parameter leaf ``[T, 1 + L · students, ...]``: the teacher itself (column 0), then
    the students after ``lengths[0]`` steps, after ``lengths[1]`` steps, … (column
    ``1 + k · students + s``; :func:`by_length` splits values measured on them) —, the
    states ``[T, D, ...]`` and the students' loss curves ``[T, students, lengths[-1]]``.
    """
    num_teachers = jax.tree.leaves(teachers)[0].shape[0]
    data_key, init_key, fit_key = jax.random.split(rng, 3)
    states = teacher_states(env, policy, teachers, num_steps, data_key)
    outputs = lambda params, obs: jax.lax.map(lambda x: network.apply(params, x[None]), obs, batch_size=1024)
    targets = jax.tree.map(lambda y: y[:, :, 0], jax.jit(jax.vmap(outputs))(teachers, states))  # in batches
    fresh = jax.vmap(jax.vmap(lambda key: network.init(key, states[0, :1])))(
        jax.random.split(init_key, (num_teachers, students))
    )
    fit = make_distill(network.apply, loss, lengths[-1], batch_size, learning_rate, snapshots=lengths)
    fitted, losses = jax.jit(jax.vmap(jax.vmap(fit, in_axes=(0, 0, None, None))))(
        jax.random.split(fit_key, (num_teachers, students)), fresh, states, targets
    )  # leaves [T, students, L, ...]
    by_column = lambda s: jnp.swapaxes(s, 1, 2).reshape((num_teachers, -1, *s.shape[3:]))
    networks = jax.tree.map(lambda t, s: jnp.concatenate([t[:, None], by_column(s)], axis=1), teachers, fitted)
    return networks, states, losses


def distill_lengths(
    network: Any,
    teachers: Any,
    policy: Policy,
    env: Env,
    loss: Callable[[Any, Any], jax.Array],
    budget: DistillBudget,
    rng: jax.Array,
) -> tuple[Any, jax.Array, jax.Array]:
    """:func:`distill_teachers` with the settings of ``budget``, students taken at ``budget.distill_schedule``.

    The data are ``budget.dataset_steps`` steps of each teacher's play in ``env``;
    ``budget.students`` students per teacher fit them with minibatches of
    ``budget.batch_size`` at Adam's ``budget.learning_rate``, each in one run of
    ``budget.distill_steps`` steps snapshotted at every length of the schedule — so the
    students of two lengths differ only in how long they were fitted.  Returns
    :func:`distill_teachers`'s ``(networks [T, 1 + L · students], states, losses)``.
    """
    return distill_teachers(
        network,
        teachers,
        policy,
        env,
        budget.dataset_steps,
        budget.students,
        loss,
        budget.distill_schedule,
        budget.batch_size,
        budget.learning_rate,
        rng,
    )


def spread_states(states: jax.Array, count: int) -> jax.Array:
    """``count`` states spread evenly over each row of ``states [T, N, ...]`` (every ``N // count``-th).

    Returns ``[T, count, ...]``.

    The states of :func:`teacher_states` are step-major, so the first ``count`` would
    all come from the first steps of the episodes; these span the whole rollout.
    """
    integer("count", count, low=1)
    if count > states.shape[1]:
        raise ValueError(f"cannot take {count} of {states.shape[1]} states")
    return states[:, :: states.shape[1] // count][:, :count]


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
    :func:`~tdgen.envs.interface.vmap_over`).  The rows play one after another (one
    compiled ``vmap`` over a row's networks and levels), so memory grows with ``M``, not ``T · M``.
    """

    def one(params: Any, key: jax.Array, level: jax.Array) -> jax.Array:
        acting = perturbed(policy, lambda k, obs: noise(k, obs, level))
        return mean_episode_return(env, acting, params, num_steps, key)

    rows, _ = _rows_and_columns(networks)
    over_levels = vmap_over(one, env, in_axes=(None, None, 0))
    play_row = jax.jit(vmap_over(over_levels, env, in_axes=(0, None, None)))  # one row per call: bounded memory
    keys, levels = jax.random.split(rng, rows), jnp.asarray(levels)
    row = lambda t: jax.tree.map(lambda p: p[t], networks)
    return np.stack([np.asarray(play_row(row(t), keys[t], levels)) for t in range(rows)])


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


def teacher_divergence(
    apply: Callable,
    networks: Any,
    states: jax.Array,
    divergence: Callable[[Any, Any], jax.Array],
    at_once: int = 0,
) -> np.ndarray:
    """How far every network's outputs are from its teacher's, ``divergence(student, teacher)`` per network, ``[T, M]``.

    Network ``m`` of row ``t`` (leaves ``[T, M, ...]``, the teacher in column 0) and the
    teacher both ``apply`` to ``states[t]`` (``states``: ``[T, N, ...]``), e.g.
    :func:`q_error` (the fit of a value student) or :func:`policy_kl` (of a policy
    student); column 0 is the teacher against itself.  ``at_once`` as in
    :func:`~tdgen.rl.agents.over_runs`.
    """
    outputs = over_runs(lambda pair: apply(pair[0], states[pair[1]]), (networks, _teacher_index(networks)), at_once)
    teacher = jax.tree.map(lambda y: y[:, 0], outputs)
    row = lambda out, own: jax.vmap(lambda one: divergence(one, own))(out)
    return np.asarray(jax.jit(jax.vmap(row))(outputs, teacher))


LEVEL_SETS = ("training", "unseen")
"""The level sets of :func:`distill_on_levels`, in the order it plays them."""
ACTION_MODES = ("sampled", "greedy")
"""How a policy acts in :func:`distill_on_levels`: sampling from ``π``, or its most likely action."""


class LevelDistillation(NamedTuple):
    """What :func:`distill_on_levels` hands back; ``M = 1 + L · students`` networks per teacher (column 0: teacher)."""

    returns: dict[tuple[str, str], np.ndarray]  #: ``(level set, mode) -> [T, M]`` mean returns
    kl: np.ndarray  #: ``[T, M]`` KL(π_teacher ‖ π_network) on held-out training-level states (:func:`policy_kl`)
    losses: jax.Array  #: the students' loss curves ``[T, students, budget.distill_steps]``


def distill_on_levels(
    teachers: Any, levels: tuple[str, str, int], budget: DistillBudget, distill_rng: jax.Array, eval_rng: jax.Array
) -> LevelDistillation:
    """Policy distillation on training levels, and the fit and returns of teachers and students on both level sets.

    ``teachers``: :class:`~tdgen.rl.networks.ActorCritic` parameters, leading ``[T]``;
    ``levels``: ``(training levels, unseen levels, episode step limit)`` of
    :func:`~tdgen.envs.level_split`.  :func:`distill_lengths` fits ``budget.students``
    students per teacher with :func:`policy_distillation_loss` on the states of the
    teachers' sampled play (``budget.dataset_envs × budget.dataset_steps``) on the
    training levels only, with key ``distill_rng``, taken at every length of
    ``budget.distill_schedule``.  With ``(held-out key, play key) = split(eval_rng)``:
    the fit is :func:`teacher_divergence` with :func:`policy_kl` on
    ``budget.probe_states`` states (:func:`spread_states`) of another such play of the
    teachers (``budget.at_once`` networks per ``vmap``), and every network plays
    ``budget.eval_episodes`` episodes on each level set
    (:func:`~tdgen.rl.rollouts.actor_critic_returns`; level sets :data:`LEVEL_SETS`,
    modes :data:`ACTION_MODES`).
    """
    train_levels, test_levels, episode_steps = levels
    network = ActorCritic(make_env(train_levels).num_actions)
    policy, data_env = softmax_policy(network.apply), make_env(train_levels, budget.dataset_envs)
    networks, _, losses = distill_lengths(
        network, teachers, policy, data_env, policy_distillation_loss, budget, distill_rng
    )
    held_key, play_key = jax.random.split(eval_rng)
    held_out = teacher_states(data_env, policy, teachers, budget.dataset_steps, held_key)
    probe = spread_states(held_out, budget.probe_states)
    kl = teacher_divergence(network.apply, networks, probe, policy_kl, budget.at_once)
    returns = {}
    for level_set, name in zip(LEVEL_SETS, (train_levels, test_levels), strict=True):
        env = make_env(name, budget.eval_episodes)
        both = np.asarray(actor_critic_returns(network.apply, networks, env, episode_steps, play_key))
        returns |= {(level_set, mode): both[..., i] for i, mode in enumerate(ACTION_MODES)}
    return LevelDistillation(returns, kl, losses)


def by_length(values: np.ndarray, lengths: int, students: int) -> tuple[np.ndarray, np.ndarray]:
    """``(teacher [T, ...], students [T, L, S, ...])`` of ``values [T, 1 + L · S, ...]``, one number per network.

    The columns of :func:`distill_teachers`: the teacher, then ``S = students`` students
    for each of the ``L = lengths`` distillation lengths (column ``1 + k · S + s``).
    """
    values = np.asarray(values)
    if values.shape[1] != 1 + lengths * students:
        raise ValueError(f"expected 1 + {lengths} · {students} networks per teacher, got {values.shape[1]}")
    return values[:, 0], values[:, 1:].reshape((values.shape[0], lengths, students, *values.shape[2:]))


def student_teacher_pairs(values: np.ndarray, lengths: int, students: int) -> tuple[np.ndarray, np.ndarray]:
    """``(student, teacher)``, each ``[T, L, S]``: the students of ``values [T, 1 + L · S]``, each beside its teacher.

    For a ratio of means paired by teacher, ``mean(student) / mean(teacher)``, at one
    length ``k``: the nested ``[teachers, students]`` arrays ``student[:, k]``, ``teacher[:, k]``.
    """
    teacher, student = by_length(values, lengths, students)
    return student, np.broadcast_to(teacher[:, None, None], student.shape)


def return_fractions(returns: np.ndarray, lengths: int, students: int) -> np.ndarray:
    """The fraction of the teachers' return the students keep at each length, ``[L]``.

    ``mean_{t, s} R_student[t, k, s] / mean_t R_teacher[t]`` from ``returns [T, 1 + L · S]``
    (a ratio of means, as :func:`tdgen.claimtests.ratio_test` of the pairs of
    :func:`student_teacher_pairs` at length ``k``).
    """
    teacher, student = by_length(returns, lengths, students)
    return student.mean(axis=(0, 2)) / teacher.mean()


def verdict_length(fractions: Sequence[float], level: float = 0.9) -> tuple[int, bool]:
    """``(k, reached)``: the first length whose students keep ``≥ level`` of the teacher's return, and whether one did.

    ``fractions [L]`` (:func:`return_fractions`), shortest length first.  If no length
    reaches ``level`` the longest is taken (``k = L − 1``) and ``reached`` is False.
    """
    above = np.flatnonzero(np.asarray(fractions) >= level)
    return (int(above[0]), True) if above.size else (len(fractions) - 1, False)
