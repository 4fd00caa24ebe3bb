"""Interference between states: probe states, update matrices, the gradient kernel, and their summaries.

Lyle et al. (2022, §5) measure how much an update on one state moves the network's
output on others.  For states x_1..x_n, the *update matrix* is

    U_ij = f_{θ − η ∇_θ ℓ_i(θ)}(x_j) − f_θ(x_j),

row i being the change of the output on every state after one gradient step of size
η on the loss ℓ_i at x_i alone.  A diagonal U means no generalization between
states; a rank-one U means trivial generalization (every update moves every output
alike).  To first order in η, U_ij ≈ −η (∂ℓ_i/∂f(x_i)) K(x_i, x_j) with the gradient
kernel (empirical NTK) K(x_i, x_j) = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩: row i is scaled by the
residual of state i, the kernel is not.

Which output and loss (a :class:`Problem`): for DQN, f(x_j) = Q(x_j, a_j) and ℓ_i the TD
loss at (x_i, a_i) with its target held fixed (:func:`q_problem`); for PPO's critic, f = V
and ℓ_i the value loss; for its actor, f(x_j) = log π(a_j | x_j) and ℓ_i the policy-gradient
loss (:func:`actor_critic_problems`).

Claim 4 computes U and K at the checkpoints of trained agents (:func:`agent_matrices`) on
three :data:`PROBE_SETS` (:func:`probe_set_matrices`) — states the final agents visit
(:func:`agent_play_probes`), uniformly random play (:func:`tdgen.rl.rollouts.random_transitions`),
and each checkpoint's own play (:func:`own_state_probes`) — and of Q-networks fitted offline to
TD or Monte Carlo targets on the same data (:func:`control_transitions`, :func:`td_mc_control`;
one game's with :func:`game_control`), and summarises them by the :data:`STATISTICS` of
:func:`interference_statistics`, among them :func:`shift_removed_ratios`: interference that is
neither absent (a diagonal U) nor trivial (the same shift of every output, a row-constant U).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from tdgen.envs import Env, make_env, terminal, vmap_over
from tdgen.profiles import InterferenceBudget
from tdgen.rl import agents, offline, policies, rollouts, td

Params = Any
Batch = Any  # a pytree whose leaves have a leading axis of n states
Example = Any  # one state of a Batch: its leaves with the leading axis indexed away

PROBE_SETS = ("agent play", "random play", "own states")
"""Where the probe states come from — the final agents' own play (:func:`agent_play_probes`, the same states
for every agent and checkpoint), uniformly random play (:func:`tdgen.rl.rollouts.random_transitions`, the same
too), and each agent's play at each checkpoint (:func:`own_state_probes`, different at every checkpoint)."""

STATISTICS = ("shift-removed ratio", "off-diagonal ratio", "mean |cosine|", "effective rank / n")
"""The summaries of :func:`interference_statistics`, in its order."""


def _check_batch(batch: Batch) -> int:
    sizes = {leaf.shape[0] for leaf in jax.tree_util.tree_leaves(batch)}
    if len(sizes) != 1:
        raise ValueError(f"every leaf of the batch needs the same leading size n, got sizes {sorted(sizes)}")
    return sizes.pop()


def update_matrix(
    outputs: Callable[[Params, Batch], jax.Array],
    loss: Callable[[Params, Example], jax.Array],
    params: Params,
    batch: Batch,
    learning_rate: float,
) -> jax.Array:
    """Exact update matrix ``U`` of shape ``[n, n]`` (one SGD step per row, rows by ``vmap``).

    Args:
      outputs: ``outputs(params, batch) -> [n]``, the network's output on every state.
      loss: ``loss(params, example) -> scalar``, the loss on ONE state (``example`` is
        the batch with its leading axis indexed away); targets must already be fixed.
      params: network parameters θ.
      batch: pytree of ``[n, ...]`` leaves: states and whatever the loss needs.
      learning_rate: the SGD step size η.
    """
    _check_batch(batch)
    before = outputs(params, batch)

    def row(example: Example) -> jax.Array:
        grads = jax.grad(loss)(params, example)
        stepped = jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)
        return outputs(stepped, batch) - before

    return jax.vmap(row)(batch)


def gradient_kernel(predict: Callable[[Params, Example], jax.Array], params: Params, batch: Batch) -> jax.Array:
    """Empirical NTK ``K_ij = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩`` of the output ``f = predict`` on ``n`` states: ``[n, n]``.

    ``predict(params, example) -> scalar`` is the output on ONE state; its gradients are taken
    one state at a time (``vmap`` of ``grad``: ``n`` backward passes through one state each).
    """
    _check_batch(batch)
    flat, unravel = ravel_pytree(params)
    jacobian = jax.vmap(jax.grad(lambda theta, example: predict(unravel(theta), example)), in_axes=(None, 0))(
        flat, batch
    )  # [n, parameters]
    return jacobian @ jacobian.T


def batched(predict: Callable[[Params, Example], jax.Array]) -> Callable[[Params, Batch], jax.Array]:
    """Outputs on every state of a batch: ``vmap`` of a per-state ``predict(params, example) -> scalar``."""

    def outputs(params: Params, batch: Batch) -> jax.Array:
        return jax.vmap(lambda example: predict(params, example))(batch)

    return outputs


def squared_error_loss(predict: Callable[[Params, Example], jax.Array]) -> Callable[[Params, Example], jax.Array]:
    """``ℓ(θ; x, y) = ½ (y − predict(θ, x))²`` on one example holding ``"y"`` (a scalar) and the state.

    For DQN ``predict`` is ``Q(x, a)`` and ``y`` the fixed TD target, for a critic ``V(x)`` and
    ``y`` the return.
    """

    def loss(params: Params, example: Example) -> jax.Array:
        return 0.5 * (example["y"] - predict(params, example)) ** 2

    return loss


class Problem(NamedTuple):
    """One output of a network and its one-state loss on ``n`` probe states (:func:`problem_matrices`)."""

    predict: Callable[[Any, Any], jax.Array]  # (params, one example) -> the output on that state, a scalar
    loss: Callable[[Any, Any], jax.Array]  # (params, one example) -> its loss, a scalar; targets fixed
    data: Any  # the ``n`` examples (a Batch), leaves ``[n, ...]``


def problem_update(problem: Problem, params: Params, learning_rate: float) -> jax.Array:
    """The ``[n, n]`` :func:`update_matrix` of a :class:`Problem`."""
    return update_matrix(batched(problem.predict), problem.loss, params, problem.data, learning_rate)


def problem_matrices(problem: Problem, params: Params, learning_rate: float) -> tuple[jax.Array, jax.Array]:
    """The update matrix (:func:`problem_update`) and gradient kernel (:func:`gradient_kernel`), each ``[n, n]``."""
    return problem_update(problem, params, learning_rate), gradient_kernel(problem.predict, params, problem.data)


def _fixed(x: jax.Array) -> jax.Array:
    return jax.lax.stop_gradient(x)


def q_problem(apply: Callable, params: Params, batch: dict, gamma: float) -> Problem:
    """DQN's output ``Q(x_j, a_j)`` and one-state TD loss ``½ (y_i − Q_θ(x_i, a_i))²``.

    ``y_i = r_i + γ (1 − d_i) max_a Q_θ(x'_i, a)`` is computed once from ``θ`` and held fixed.
    ``apply(params, obs [n, ...]) -> [n, A]``; ``batch`` holds ``obs``, ``action``, ``reward``,
    ``done`` and ``next_obs`` of ``n`` transitions (:data:`PROBE_SETS`).
    """
    target = td.q_learning_target(batch["reward"], batch["done"], apply(params, batch["next_obs"]), gamma)
    data = {"obs": batch["obs"], "action": batch["action"], "y": _fixed(target)}

    def q_value(p: Params, example: Example) -> jax.Array:
        return apply(p, example["obs"][None])[0, example["action"]]

    return Problem(q_value, squared_error_loss(q_value), data)


def q_update_matrix(apply: Callable, params: Any, batch: dict, gamma: float, learning_rate: float) -> jax.Array:
    """DQN's ``[n, n]`` update matrix of ``Q(x_j, a_j)`` under one-state TD losses (:func:`q_problem`).

    ``U_ij = Q_θ'(x_j, a_j) − Q_θ(x_j, a_j)`` with ``θ' = θ − η ∇_θ ½ (y_i − Q_θ(x_i, a_i))²``;
    ``η`` is ``learning_rate``.
    """
    return problem_update(q_problem(apply, params, batch, gamma), params, learning_rate)


def actor_critic_problems(apply: Callable, params: Any, batch: dict, gamma: float) -> dict[str, Problem]:
    """PPO's two problems: ``"critic"`` (``V``, value losses) and ``"actor"`` (``log π``, policy losses).

    With ``y_i = r_i + γ (1 − d_i) V_θ(x'_i)`` and advantage ``A_i = y_i − V_θ(x_i)``, both fixed
    from ``θ``: the critic's loss at state ``i`` is ``½ (y_i − V(x_i))²`` read off ``V(x_j)``, the
    actor's ``−A_i log π(a_i | x_i)`` read off ``log π(a_j | x_j)``.  ``apply(params, obs) ->
    (logits [n, A], V [n])``; ``batch`` as in :func:`q_problem`.
    """
    _, value = apply(params, batch["obs"])
    _, next_value = apply(params, batch["next_obs"])
    target = _fixed(td.td_target(batch["reward"], batch["done"], next_value, gamma))
    data = {"obs": batch["obs"], "action": batch["action"], "y": target, "advantage": _fixed(target - value)}

    def state_value(p: Params, example: Example) -> jax.Array:
        return apply(p, example["obs"][None])[1][0]

    def log_prob(p: Params, example: Example) -> jax.Array:
        return jax.nn.log_softmax(apply(p, example["obs"][None])[0][0])[example["action"]]

    def policy_loss(p: Params, example: Example) -> jax.Array:
        return -example["advantage"] * log_prob(p, example)

    return {
        "critic": Problem(state_value, squared_error_loss(state_value), data),
        "actor": Problem(log_prob, policy_loss, data),
    }


def actor_critic_update_matrices(
    apply: Callable, params: Any, batch: dict, gamma: float, learning_rate: float
) -> dict[str, jax.Array]:
    """PPO's ``[n, n]`` update matrices of :func:`actor_critic_problems`: ``"critic"`` and ``"actor"``."""
    return {
        name: problem_update(problem, params, learning_rate)
        for name, problem in actor_critic_problems(apply, params, batch, gamma).items()
    }


AGENT_OUTPUTS = ("DQN Q", "PPO critic V", "PPO actor log π")
"""The keys of :func:`agent_matrices`: which agent's output each update matrix tracks."""


def _over_runs_on(fn: Callable[[Params, dict], Any], params: Params, probes: dict, at_once: int) -> Any:
    """``fn(params, probes)`` over the ``[runs, checkpoints]`` of ``params``, with shared ``probes`` (``action``
    ``[n]``) or each run's and checkpoint's own (``action`` ``[runs, checkpoints, n]``)."""
    if jnp.ndim(probes["action"]) == 1:
        return agents.over_runs(lambda p: fn(p, probes), params, at_once)
    if jnp.ndim(probes["action"]) != 3:
        raise ValueError(f"probes need actions [n] or [runs, checkpoints, n], got shape {jnp.shape(probes['action'])}")
    return agents.over_runs(lambda pair: fn(*pair), (params, probes), at_once)


def agent_matrices(
    q_apply: Callable,
    dqn_params: Params,
    ac_apply: Callable,
    ppo_params: Params,
    dqn_probes: dict,
    ppo_probes: dict,
    dqn_gamma: float,
    ppo_gamma: float,
    learning_rate: float,
    at_once: int = 0,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Update matrices and gradient kernels of DQN and PPO agents at every checkpoint of every seed.

    Args:
      q_apply: DQN's Q-network, ``q_apply(params, obs [n, ...]) -> Q [n, A]``.
      dqn_params: DQN's parameters, leaves ``[seeds, checkpoints, ...]``.
      ac_apply: PPO's actor-critic, ``ac_apply(params, obs) -> (logits [n, A], V [n])``.
      ppo_params: PPO's parameters, leaves ``[seeds, checkpoints, ...]``.
      dqn_probes, ppo_probes: each agent's probe transitions (:data:`PROBE_SETS`): leaves
        ``[n, ...]``, the same for every seed and checkpoint, or ``[seeds, checkpoints, n, ...]``.
      dqn_gamma, ppo_gamma: each agent's discount, for its TD targets.
      learning_rate: the SGD step ``η`` of one row.
      at_once: matrices per ``vmap`` (:func:`tdgen.rl.agents.over_runs`; 0: all at once).

    Returns:
      :data:`AGENT_OUTPUTS` → ``(U, K)``, each ``[seeds, checkpoints, n, n]``
      (:func:`problem_matrices`): DQN's ``Q(x_j, a_j)`` (:func:`q_problem`), PPO's critic
      ``V(x_j)`` and actor ``log π(a_j | x_j)`` (:func:`actor_critic_problems`).
    """

    def dqn(params: Params, probes: dict) -> tuple[jax.Array, jax.Array]:
        return problem_matrices(q_problem(q_apply, params, probes, dqn_gamma), params, learning_rate)

    def ppo(params: Params, probes: dict) -> dict[str, tuple[jax.Array, jax.Array]]:
        problems = actor_critic_problems(ac_apply, params, probes, ppo_gamma)
        return {name: problem_matrices(problem, params, learning_rate) for name, problem in problems.items()}

    q = _over_runs_on(dqn, dqn_params, dqn_probes, at_once)
    ac = _over_runs_on(ppo, ppo_params, ppo_probes, at_once)
    pairs = (q, ac["critic"], ac["actor"])
    return {name: (np.asarray(u), np.asarray(k)) for name, (u, k) in zip(AGENT_OUTPUTS, pairs)}


def policy_transitions(
    env: Env, policy: policies.Policy, params: Params, warmup_steps: int, num_steps: int, rng: jax.Array
) -> dict[str, jax.Array]:
    """The last ``num_steps`` of ``warmup_steps + num_steps`` steps of ``policy`` in ``env``, as flat transitions.

    :func:`tdgen.rl.rollouts.play`; returns ``[num_steps · num_envs, ...]`` leaves ``obs``,
    ``next_obs``, ``action``, ``reward`` and ``done`` (float32, :func:`~tdgen.envs.interface.terminal`:
    an envpool reset step is a terminal state), as :func:`tdgen.rl.rollouts.random_transitions`
    gives for one recorded step.  Jit-able (``env``, ``policy`` and the step counts static).
    """
    steps, last_obs = rollouts.play(env, policy, params, warmup_steps + num_steps, rng)
    kept = jax.tree.map(lambda x: x[warmup_steps:], steps)  # [num_steps, num_envs, ...]
    data = {
        "obs": kept["obs"],
        "next_obs": jnp.concatenate([kept["obs"][1:], last_obs[None]]),
        "action": kept["action"],
        "reward": kept["reward"].astype(jnp.float32),
        "done": terminal(kept["done"], kept).astype(jnp.float32),
    }
    return jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), data)


def _draw(data: dict[str, jax.Array], size: int, count: int, rng: jax.Array) -> dict[str, jax.Array]:
    """``count`` of the ``size`` entries of every leaf of ``data``, drawn without replacement."""
    chosen = jax.random.choice(rng, size, (count,), replace=False)
    return jax.tree.map(lambda x: x[chosen], data)


def sampled_transitions(
    env: Env,
    policy: policies.Policy,
    params: Params,
    count: int,
    warmup_steps: int,
    num_steps: int,
    rng: jax.Array,
) -> dict[str, jax.Array]:
    """``count`` of the :func:`policy_transitions`, drawn without replacement: leaves ``[count, ...]``.

    ``(play_key, draw_key) = split(rng)``; needs ``count <= num_steps · env.num_envs``.
    """
    pool = num_steps * env.num_envs
    if not 2 <= count <= pool:
        raise ValueError(f"need 2 <= count <= num_steps · num_envs = {pool}, got count {count}")
    play_key, draw_key = jax.random.split(rng)
    transitions = policy_transitions(env, policy, params, warmup_steps, num_steps, play_key)
    return _draw(transitions, pool, count, draw_key)


def agent_play_probes(
    env: Env,
    players: Sequence[tuple[policies.Policy, Params]],
    per_agent: int,
    warmup_steps: int,
    num_steps: int,
    rng: jax.Array,
) -> dict[str, jax.Array]:
    """The probe set ``"agent play"``: ``per_agent`` :func:`sampled_transitions` of every agent, pooled.

    ``players``: one ``(policy, params)`` per algorithm, ``params`` leaves ``[seeds, ...]`` (e.g.
    the final checkpoint of every DQN seed with :func:`~tdgen.rl.policies.epsilon_greedy`, of
    every PPO seed with :func:`~tdgen.rl.policies.softmax_policy`).  Algorithm ``a`` plays with
    key ``a`` of ``split(rng, len(players))``, its seed ``s`` with key ``s`` of a split of that.
    Returns leaves ``[Σ seeds · per_agent, ...]``, algorithm by algorithm, seed by seed: the same
    states for every agent and checkpoint, with the actions taken in that play.
    """
    parts = []
    for (policy, params), key in zip(players, jax.random.split(rng, len(players)), strict=True):
        drawn = _per_seed(env, policy, params, per_agent, warmup_steps, num_steps, key)  # [seeds, per_agent, ...]
        parts.append(jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), drawn))
    return jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *parts)


def _sampler(
    env: Env, policy: policies.Policy, count: int, warmup_steps: int, num_steps: int
) -> Callable[[Params, jax.Array], dict[str, jax.Array]]:
    """``(params, key) -> ``:func:`sampled_transitions` of ``policy`` in ``env``."""

    def sample(params: Params, key: jax.Array) -> dict[str, jax.Array]:
        return sampled_transitions(env, policy, params, count, warmup_steps, num_steps, key)

    return sample


def _per_seed(
    env: Env, policy: policies.Policy, params: Params, count: int, warmup_steps: int, num_steps: int, rng: jax.Array
) -> dict[str, jax.Array]:
    """:func:`sampled_transitions` of every seed of ``params`` (leaves ``[seeds, ...]``), keys split from ``rng``."""
    seeds = jax.tree.leaves(params)[0].shape[0]
    sample = _sampler(env, policy, count, warmup_steps, num_steps)
    return jax.jit(vmap_over(sample, env))(params, jax.random.split(rng, seeds))


def own_state_probes(
    env: Env,
    policy: policies.Policy,
    params: Params,
    count: int,
    warmup_steps: int,
    num_steps: int,
    rng: jax.Array,
) -> dict[str, jax.Array]:
    """The probe set ``"own states"``: ``count`` :func:`sampled_transitions` of every seed at every checkpoint.

    ``params`` leaves ``[seeds, checkpoints, ...]``; each network plays ``policy`` with its own key
    (``rng`` split to ``[seeds, checkpoints]``).  Returns leaves ``[seeds, checkpoints, count, ...]``.
    """
    seeds, checkpoints = jax.tree.leaves(params)[0].shape[:2]
    keys = jax.random.split(rng, seeds * checkpoints).reshape(seeds, checkpoints, -1)
    sample = _sampler(env, policy, count, warmup_steps, num_steps)
    return jax.jit(vmap_over(vmap_over(sample, env), env))(params, keys)


PLAY_EPSILON = 0.05
"""ε of the trained DQN agents' ε-greedy play, for the probe states and for the control's data."""


class ProbeSet(NamedTuple):
    """One of the :data:`PROBE_SETS` of a game and the agents' matrices on it (:func:`probe_set_matrices`)."""

    checkpoints: tuple[int, ...]  # the checkpoints measured
    probes: tuple[dict, dict]  # DQN's and PPO's probe transitions: leaves [n, ...] or [seeds, checkpoints, n, ...]
    matrices: dict[str, tuple[np.ndarray, np.ndarray]]  # agent_matrices: output -> (U, K) [seeds, checkpoints, n, n]

    def statistics(self) -> dict[str, dict[str, np.ndarray]]:
        """Output → :func:`interference_statistics` of its matrices: statistic → ``[seeds, checkpoints]``."""
        return {output: interference_statistics(u, k) for output, (u, k) in self.matrices.items()}


def probe_set_matrices(
    game: str,
    q_apply: Callable,
    dqn_params: Params,
    ac_apply: Callable,
    ppo_params: Params,
    dqn_gamma: float,
    ppo_gamma: float,
    budget: InterferenceBudget,
    rng: jax.Array,
) -> dict[str, ProbeSet]:
    """The agents' update matrices and gradient kernels (:func:`agent_matrices`) on each of the :data:`PROBE_SETS`.

    ``dqn_params`` and ``ppo_params`` have leaves ``[seeds, checkpoints, ...]``.  With
    ``(play_key, random_key, own_key) = split(rng, 3)`` and ``budget``'s ``states``, ``warmup_steps``,
    ``probe_envs`` and ``probe_steps``:

    * ``"agent play"`` (every checkpoint): :func:`agent_play_probes` of the last checkpoint of
      every DQN seed (ε-greedy, ε = :data:`PLAY_EPSILON`) and every PPO seed (sampling), the same
      ``states / (2 · seeds)`` from each;
    * ``"random play"`` (first and last checkpoint): :func:`tdgen.rl.rollouts.random_transitions`;
    * ``"own states"`` (first and last checkpoint): :func:`own_state_probes` of every DQN and PPO
      network with the same policies (keys ``split(own_key)``).

    The two sensitivity sets are measured only where their tests read them, at the random
    initialisation and at the end of training.  All three go through one :func:`agent_matrices`
    call (their checkpoints side by side), so the matrices compile once.
    """
    env = make_env(game, budget.probe_envs)
    seeds, checkpoints = jax.tree.leaves(dqn_params)[0].shape[:2]
    ends = (0, checkpoints - 1)
    params = (dqn_params, ppo_params)
    players = (policies.epsilon_greedy(q_apply, PLAY_EPSILON), policies.softmax_policy(ac_apply))
    final = [jax.tree.map(lambda x: x[:, -1], p) for p in params]
    at_ends = [jax.tree.map(lambda x: x[:, np.array(ends)], p) for p in params]
    play_key, random_key, own_key = jax.random.split(rng, 3)
    per_agent = budget.states // (2 * seeds)
    shared = agent_play_probes(
        env, list(zip(players, final, strict=True)), per_agent, budget.warmup_steps, budget.probe_steps, play_key
    )
    random = rollouts.random_transitions(game, budget.states, budget.warmup_steps, random_key)
    own = tuple(
        own_state_probes(env, policy, p, budget.states, budget.warmup_steps, budget.probe_steps, key)
        for policy, p, key in zip(players, at_ends, jax.random.split(own_key), strict=True)
    )

    arms = {  # probe set -> (its checkpoints, DQN's probes, PPO's probes)
        "agent play": (tuple(range(checkpoints)), shared, shared),
        "random play": (ends, random, random),
        "own states": (ends, *own),
    }
    # one agent_matrices call (one compilation): every arm's checkpoints side by side, each with its probes
    columns = np.concatenate([c for c, _, _ in arms.values()])
    side_by_side = [jax.tree.map(lambda x: x[:, columns], p) for p in params]
    probes = [_side_by_side([(arm[a], len(arm[0])) for arm in arms.values()], seeds) for a in (1, 2)]
    rate, at_once = budget.learning_rate, budget.matrices_at_once
    both = agent_matrices(
        q_apply, side_by_side[0], ac_apply, side_by_side[1], *probes, dqn_gamma, ppo_gamma, rate, at_once
    )
    bounds = np.cumsum([len(c) for c, _, _ in arms.values()])[:-1]
    pieces = {o: (np.split(u, bounds, axis=1), np.split(k, bounds, axis=1)) for o, (u, k) in both.items()}
    return {
        name: ProbeSet(c, (d, p), {o: (us[i], ks[i]) for o, (us, ks) in pieces.items()})
        for i, (name, (c, d, p)) in enumerate(arms.items())
    }


def _side_by_side(parts: Sequence[tuple[dict, int]], seeds: int) -> dict:
    """Probe transitions of several arms, ``(probes, checkpoints)`` each, concatenated along the checkpoints:
    leaves ``[seeds, Σ checkpoints, n, ...]``; shared probes (``action [n]``) are broadcast to every run."""

    def per_run(probes: dict, checkpoints: int) -> dict:
        if jnp.ndim(probes["action"]) == 3:
            return probes
        return jax.tree.map(lambda x: jnp.broadcast_to(x, (seeds, checkpoints, *x.shape)), probes)

    return jax.tree.map(lambda *x: jnp.concatenate(x, axis=1), *(per_run(p, k) for p, k in parts))


def _square_stack(matrices: np.ndarray) -> np.ndarray:
    matrices = np.asarray(matrices, dtype=float)
    if matrices.ndim < 2 or matrices.shape[-1] != matrices.shape[-2] or matrices.shape[-1] < 2:
        raise ValueError(f"need square matrices [..., n, n] with n >= 2, got shape {matrices.shape}")
    return matrices


def _diagonal_and_off(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[..., n, n] -> ([..., n], [..., n, n − 1])``: each row's diagonal entry and its off-diagonal entries."""
    m = _square_stack(matrices)
    n = m.shape[-1]
    return np.diagonal(m, axis1=-2, axis2=-1), m[..., ~np.eye(n, dtype=bool)].reshape(*m.shape[:-2], n, n - 1)


def _ratio(off: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """``mean |off| / mean |diagonal|`` over the last two and the last axis; ``inf`` where the diagonal is 0."""
    numerator, denominator = np.abs(off).mean(axis=(-2, -1)), np.abs(diagonal).mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.inf)


def off_diagonal_ratios(matrices: np.ndarray) -> np.ndarray:
    """Mean ``|U_ij|`` off the diagonal over mean ``|U_ii|`` on it: ``[..., n, n] -> [...]``.

    0 for a diagonal matrix, 1 for a constant one; ``inf`` where the diagonal is 0.
    """
    diagonal, off = _diagonal_and_off(matrices)
    return _ratio(off, diagonal)


def off_diagonal_ratio(matrix: np.ndarray) -> float:
    """:func:`off_diagonal_ratios` of one ``[n, n]`` matrix."""
    if np.ndim(matrix) != 2:
        raise ValueError(f"need a square matrix of at least 2 × 2, got shape {np.shape(matrix)}")
    return float(off_diagonal_ratios(matrix))


def shift_removed(matrices: np.ndarray) -> np.ndarray:
    """Each row's shared shift removed off the diagonal: ``[..., n, n] -> [..., n, n]``.

    ``U_ij − s_i`` for ``j ≠ i`` and ``U_ii`` on the diagonal, with ``s_i = median_{j ≠ i} U_ij`` the
    shift an update on state ``i`` shares with every other state (a row-constant matrix
    ``U_ij = c_i``, where an update moves every output by the same amount — the rank-one,
    trivial-generalization end — has ``s_i = c_i`` and becomes diagonal).  The diagonal keeps its
    shift: it is the update's whole effect on its own state.
    """
    m = _square_stack(matrices)
    off = _diagonal_and_off(m)[1]  # [..., n, n − 1]
    residual = off - np.median(off, axis=-1, keepdims=True)
    out = m.copy()
    out[..., ~np.eye(m.shape[-1], dtype=bool)] = residual.reshape(*m.shape[:-2], -1)
    return out


def shift_removed_ratios(matrices: np.ndarray) -> np.ndarray:
    """:func:`off_diagonal_ratios` of :func:`shift_removed`: ``[..., n, n] -> [...]``.

    .. math:: \\frac{\\operatorname{mean}_{i \\neq j} |U_{ij} - s_i|}{\\operatorname{mean}_i |U_{ii}|},
              \\qquad s_i = \\operatorname{median}_{j \\neq i} U_{ij}.

    0 for a diagonal matrix (no generalization) and for a row-constant one (trivial
    generalization); the plain ratio where every shift is 0.
    """
    return off_diagonal_ratios(shift_removed(matrices))


def gradient_cosine(kernel: np.ndarray) -> np.ndarray:
    """Cosine similarity of the states' output gradients, ``K_ij / sqrt(K_ii K_jj)``: ``[..., n, n] -> [..., n, n]``."""
    kernel = _square_stack(kernel)
    norms = np.sqrt(np.clip(np.diagonal(kernel, axis1=-2, axis2=-1), 1e-30, None))
    return kernel / (norms[..., :, None] * norms[..., None, :])


def mean_abs_off_diagonal(matrices: np.ndarray) -> np.ndarray:
    """Mean ``|M_ij|`` over ``i ≠ j``: ``[..., n, n] -> [...]`` (of :func:`gradient_cosine`: 0 for orthogonal
    gradients, 1 for parallel ones)."""
    return np.abs(_diagonal_and_off(matrices)[1]).mean(axis=(-2, -1))


def effective_ranks(matrices: np.ndarray) -> np.ndarray:
    """Effective rank ``exp(H(σ / Σσ))`` of the singular values ``σ`` (Roy & Vetterli, 2007): ``[..., n, n] -> [...]``.

    ``n`` for a matrix with ``n`` equal singular values (e.g. a multiple of the identity), 1 for a
    rank-one matrix.
    """
    singular = np.linalg.svd(_square_stack(matrices), compute_uv=False)
    total = singular.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("effective rank is undefined for the zero matrix")
    p = singular / total
    return np.exp(-np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1))


def interference_statistics(update: np.ndarray, kernel: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`STATISTICS` of update matrices and their gradient kernels, ``[..., n, n]`` each ``-> [...]``.

    * ``"shift-removed ratio"`` – :func:`shift_removed_ratios` of ``U``;
    * ``"off-diagonal ratio"`` – :func:`off_diagonal_ratios` of ``U``;
    * ``"mean |cosine|"`` – :func:`mean_abs_off_diagonal` of :func:`gradient_cosine` of ``K``: free of the
      residuals that scale ``U``'s rows;
    * ``"effective rank / n"`` – :func:`effective_ranks` of ``U`` over ``n``: ``1/n`` at rank one (trivial
      generalization), 1 at full rank with equal singular values (e.g. diagonal).
    """
    update = _square_stack(update)
    return {
        "shift-removed ratio": shift_removed_ratios(update),
        "off-diagonal ratio": off_diagonal_ratios(update),
        "mean |cosine|": mean_abs_off_diagonal(gradient_cosine(kernel)),
        "effective rank / n": effective_ranks(update) / update.shape[-1],
    }


def control_transitions(
    q_apply: Callable, params: Params, env: Env, epsilon: float, num_steps: int, gamma: float, rng: jax.Array
) -> dict[str, jax.Array]:
    """The control's fixed data: ``num_steps`` steps of ε-greedy play of each of ``agents`` Q-networks in ``env``.

    ``params`` leaves ``[agents, ...]``.  Agent ``a`` plays :func:`tdgen.rl.rollouts.rollout` of
    :func:`tdgen.rl.policies.epsilon_greedy` with key ``a`` of ``split(play_key, agents)``, flattened
    by :func:`tdgen.rl.td.transitions` into ``D_a`` transitions with their discounted Monte Carlo
    returns (``D_a`` at most ``num_envs · (num_steps − 1)``: the steps of episodes that end within
    the play).  So that one compiled fit serves every agent, each agent's transitions are cut to
    ``D = min_a D_a``, drawn without replacement by NumPy seeded with key ``a`` of
    ``split(cut_key, agents)``; ``(play_key, cut_key) = split(rng)``.  Returns leaves
    ``[agents, D, ...]``.
    """
    behaviour = policies.epsilon_greedy(q_apply, epsilon)
    play = jax.jit(lambda p, k: rollouts.rollout(env, behaviour, p, num_steps, k))
    count = jax.tree.leaves(params)[0].shape[0]
    play_key, cut_key = jax.random.split(rng)
    per_agent = [
        td.transitions(play(jax.tree.map(operator.itemgetter(a), params), key), gamma)
        for a, key in enumerate(jax.random.split(play_key, count))
    ]
    sizes = [data["obs"].shape[0] for data in per_agent]
    if min(sizes) < 1:
        raise ValueError(f"an agent finished no episode within {num_steps} steps: transitions per agent {sizes}")
    keys = np.asarray(jax.random.split(cut_key, count))
    cut = [_host_draw(data, size, min(sizes), key) for data, size, key in zip(per_agent, sizes, keys, strict=True)]
    return jax.tree.map(lambda *leaves: jnp.asarray(np.stack(leaves)), *cut)


def _host_draw(data: dict[str, jax.Array], size: int, count: int, key: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`_draw` in NumPy, seeded by the key's two words: no compilation for each ``size``."""
    chosen = np.random.default_rng(key).choice(size, count, replace=False)
    return jax.tree.map(lambda x: np.asarray(x)[chosen], data)


def td_mc_control(
    network: nn.Module,
    fits: dict[str, Callable],
    data: dict[str, jax.Array],
    probes: dict,
    init_rng: jax.Array,
    fit_rng: jax.Array,
    inits: int,
    gamma: float,
    learning_rate: float,
    at_once: int = 0,
) -> dict[str, np.ndarray]:
    """Update matrices of fresh Q-networks fitted to each agent's data with each kind of target.

    For each of the ``agents`` data sets, ``inits`` copies of ``network`` are initialised (keys
    ``split(init_rng, agents · inits)``); each kind of ``fits`` trains every copy on its agent's
    data with the same minibatch keys (``split(fit_rng, agents · inits)``), so the two kinds differ
    only in the targets; the :func:`q_update_matrix` on the ``probes`` is taken at every checkpoint.
    One compiled fit per kind, ``vmap`` over agents and initialisations.

    Args:
      network: the Q-network (``init`` and ``apply``).
      fits: target kind (``"td"``, ``"mc"``) → ``fit(rng, params, data) -> params [C + 1, ...]``
        (:func:`tdgen.rl.offline.make_offline_fit`).
      data: the transitions of each agent, leaves ``[agents, D, ...]`` (:func:`control_transitions`).
      probes: the probe transitions of the update matrices, leaves ``[n, ...]``.
      init_rng, fit_rng: keys of the initialisations and of the fits' minibatches.
      inits: initialisations per agent.
      gamma, learning_rate: of :func:`q_update_matrix`.
      at_once: matrices per ``vmap`` (:func:`tdgen.rl.agents.over_runs`).

    Returns:
      Target kind → ``[agents, inits, C + 1, n, n]`` update matrices (summarise them with, e.g.,
      :func:`shift_removed_ratios`).
    """
    count = jax.tree.leaves(data)[0].shape[0]
    one_state = data["obs"][0, :1]

    def split(key: jax.Array) -> jax.Array:
        return jax.random.split(key, count * inits).reshape(count, inits, -1)

    fresh = jax.vmap(jax.vmap(network.init, in_axes=(0, None)), in_axes=(0, None))(split(init_rng), one_state)
    matrix = functools.partial(q_update_matrix, network.apply, batch=probes, gamma=gamma, learning_rate=learning_rate)
    trained = [
        jax.jit(jax.vmap(jax.vmap(fit, in_axes=(0, 0, None))))(split(fit_rng), fresh, data) for fit in fits.values()
    ]
    # every fit's checkpoints in one over_runs call (one compilation): leaves [kinds · agents · inits, C + 1, ...]
    flat = jax.tree.map(lambda *x: jnp.concatenate([y.reshape((-1, *y.shape[2:])) for y in x]), *trained)
    per_run = np.asarray(agents.over_runs(matrix, flat, at_once))  # [kinds · agents · inits, C + 1, n, n]
    return dict(zip(fits, per_run.reshape(len(fits), count, inits, *per_run.shape[1:]), strict=True))


def game_control(
    game: str,
    network: nn.Module,
    params: Params,
    probes: dict,
    gamma: float,
    budget: InterferenceBudget,
    rng: jax.Array,
) -> tuple[dict[str, np.ndarray], int]:
    """The TD-versus-Monte-Carlo control of one game's DQN agents with ``budget``'s offline settings.

    :func:`control_transitions` of every agent of ``params`` (leaves ``[agents, ...]``: the final
    checkpoint of every seed) in ``offline_envs`` environments of ``game`` for
    ``offline_env_steps`` steps (ε = :data:`PLAY_EPSILON`); then :func:`td_mc_control` with the
    two fits of :func:`tdgen.rl.offline.make_offline_fit` (``offline_steps`` Adam steps of
    ``offline_batch_size`` at ``offline_learning_rate``, target copies every
    ``offline_target_every``, ``offline_checkpoints`` checkpoints) from ``offline_inits``
    initialisations per agent.  Keys ``(data, init, fit) = split(rng, 3)``.

    Returns:
      Target kind → ``[agents, inits, offline_checkpoints + 1, n, n]`` update matrices on
      ``probes``, and the number of transitions each agent's fits were trained on.
    """
    fits = {
        kind: offline.make_offline_fit(
            network.apply,
            kind,
            gamma,
            budget.offline_steps,
            budget.offline_batch_size,
            budget.offline_learning_rate,
            budget.offline_target_every,
            budget.offline_checkpoints,
        )
        for kind in ("td", "mc")
    }
    data_key, init_key, fit_key = jax.random.split(rng, 3)
    env = make_env(game, budget.offline_envs)
    data = control_transitions(network.apply, params, env, PLAY_EPSILON, budget.offline_env_steps, gamma, data_key)
    rate, at_once = budget.learning_rate, budget.matrices_at_once
    matrices = td_mc_control(network, fits, data, probes, init_key, fit_key, budget.offline_inits, gamma, rate, at_once)
    return matrices, data["obs"].shape[1]
