"""Claim 3 in deep RL: TD against regression on the frames of trained MinAtar agents.

The setting of the last section of claim 3's page.  The states are the frames of the
book's trained DQN agents (:func:`tdgen.rl.agents.trained_agents`) playing ε-greedily
(:func:`agent_play`); every frame whose episode ended within the play is kept with its
discounted return ``G_t`` (:func:`interleaved_frames`: every ``stride``-th frame of a
trajectory is a *training frame*, the frames between two training frames are *held out*, so
the held-out error measures interpolation).  Claim 3 discounts with the profile's γ = 0.9,
not the agents' 0.99, so that TD can propagate the rewards within its budget.

A value network (the agents' :class:`~tdgen.rl.networks.QNetwork` with one output) is
fitted on the training frames only (:func:`make_deep_value_fits`), from one initialisation
and one sequence of minibatches shared by every arm:

* **TD** towards the ``stride``-step return to the next training frame, bootstrapped from a
  target network;
* **Monte Carlo** (regression on ``G_t``), from scratch;
* the **twin**: regression, exactly like the Monte Carlo arm, on the TD network's own
  outputs on the training frames.  It is given the same training values as TD, so the
  held-out errors of TD and of its twin compare how the two *generalize* from equal fits;
  TD against Monte Carlo mixes that with how well TD fitted ``G_t`` at all
  (:func:`normalised_bellman_residual` reports whether TD converged);
* networks **pre-trained** on a sinusoid ``sin(ω u(x) + φ)`` of a random projection ``u``
  of the observation (:func:`projection_sinusoids`), then fine-tuned like the Monte Carlo
  arm.  The frequencies run from half a period across the range of ``u`` to the frames'
  Nyquist frequency (:func:`frequency_range`).

Errors are :func:`normalised_mse`: 1 is the error of predicting the mean return.  Each
agent plays ``plays`` times (its own keys, initialisations and minibatches each); the
agents are the independent units, so :meth:`DeepErrors.nested` arranges every error as
``[agents, plays]`` for the claim's tests.

The pipeline, one function per step: :func:`agent_play`, :func:`frame_data`
(:class:`FrameData`), :func:`deep_value_fits` (:class:`DeepFits`), :func:`deep_errors`
(:class:`DeepErrors`) and :func:`trajectory_values`; :func:`frame_table` and
:func:`deep_error_table` write the numbers as text.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from tdgen.critical import standardise
from tdgen.envs.interface import Env
from tdgen.profiles import CriticalBudget
from tdgen.rl.offline import make_offline_fit
from tdgen.rl.policies import epsilon_greedy
from tdgen.rl.rollouts import rollout
from tdgen.rl.td import discounted_returns

GAME = "Breakout-MinAtar"  #: the game whose trained DQN agents play the frames of this part, at every profile


def interleaved_frames(
    rollout: dict[str, jax.Array], gamma: float, stride: int = 2
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split a rollout's frames into training frames and the held-out frames between them.

    ``rollout``: leaves ``[T, N, ...]`` with ``obs``, ``reward``, ``done`` (as from
    :func:`tdgen.rl.rollouts.rollout`).  Frame ``t`` of every trajectory is a *training*
    frame when ``t ≡ 0 (mod stride)`` and ``t + stride ≤ T − 1``, a *held-out* frame when
    ``t ≢ 0 (mod stride)``; only frames whose episode ended within the rollout are kept, so
    that each one's discounted Monte Carlo return ``G_t = r_t + γ (1 − d_t) G_{t+1}`` is
    exact.  A training frame comes as the ``stride``-step transition to the next training
    frame of its trajectory,

        R_t = Σ_{i<k} γ^i (Π_{j<i} (1 − d_{t+j})) r_{t+i},   D_t = 1 − Π_{i<k} (1 − d_{t+i}),

    (``k = stride``), so that ``G_t = R_t + γ^k (1 − D_t) G_{t+k}``: TD with discount
    ``γ^k`` on these transitions never sees a held-out frame, not even as a successor, and
    still sees every reward.

    Choose ``stride`` so that the held-out frames are interpolations between training
    frames.  Claim 3 uses ``stride = 3`` (every third frame for training, the two between
    held out), not 2: in Breakout-MinAtar the ball moves one cell diagonally per step, so
    the checkerboard colour of its cell alternates from frame to frame, and with every other
    frame held out all held-out frames — and no training frame — would have the ball on the
    other colour.  A prototype run with ``stride = 2`` gave held-out errors above 1 (worse
    than predicting the mean return) for every arm: extrapolation to unseen ball positions.

    Returns:
      ``(train, held_out)``, flat in time-major order: ``train`` with ``obs [D, ...]``,
      ``action [D]`` (zeros: one output, a state value), ``reward [D]`` (``R_t``), ``done [D]``
      (``D_t``), ``next_obs [D, ...]`` (frame ``t + k``), ``mc_return [D]``; ``held_out``
      with ``obs [H, ...]`` and ``mc_return [H]``.  NumPy arrays (boolean indexing: call
      outside jit).
    """

    if stride < 2:
        raise ValueError(f"stride must be at least 2 (one held-out frame between training frames), got {stride}")
    reward = np.asarray(rollout["reward"], dtype=np.float32)
    done = np.asarray(rollout["done"], dtype=np.float32)
    obs = np.asarray(rollout["obs"])
    steps = reward.shape[0]
    if steps <= stride:
        raise ValueError(f"a rollout of {steps} steps has no transition of {stride} steps")
    returns, complete = map(np.asarray, discounted_returns(jnp.asarray(reward), jnp.asarray(done), gamma))
    n = steps - stride  # frames t with t + stride ≤ T − 1
    reward_k, alive = np.zeros_like(reward[:n]), np.ones_like(reward[:n])
    for i in range(stride):
        reward_k += gamma**i * alive * reward[i : i + n]
        alive *= 1.0 - done[i : i + n]
    t = np.arange(steps)[:, None]
    train = (t % stride == 0) & complete
    train[n:] = False
    held = (t % stride != 0) & complete
    keep = train[:n]
    train_data = {
        "obs": obs[:n][keep],
        "action": np.zeros(int(keep.sum()), dtype=np.int32),
        "reward": reward_k[keep],
        "done": (1.0 - alive)[keep],
        "next_obs": obs[stride:][keep],
        "mc_return": returns[:n][keep].astype(np.float32),
    }
    return train_data, {"obs": obs[held], "mc_return": returns[held].astype(np.float32)}


def random_projection(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """``⟨w, vec x_i⟩`` for one direction ``w`` drawn uniformly from the unit sphere: ``[n, ...] -> [n]``.

    ``w`` depends only on ``seed`` and the size of ``vec x_i``, so calls on different frames
    of the same observation space project onto the same direction.
    """
    x = np.asarray(x, dtype=np.float64).reshape(np.shape(x)[0], -1)
    w = np.random.default_rng(seed).standard_normal(x.shape[1])
    return x @ (w / np.linalg.norm(w))


def projection_sinusoids(u: np.ndarray, omegas: np.ndarray | Sequence[float], seed: int = 0) -> np.ndarray:
    """Standardised ``g_l = sin(ω_l u + φ_l)`` of a projection ``u [n]``, one per frequency: ``[L, n]``.

    ``u`` is a (scaled) :func:`random_projection` of the frames; the phases ``φ_l`` are drawn
    uniformly from ``seed``.  Higher ``ω`` gives a function that changes faster along ``w``.
    """
    u = np.asarray(u, dtype=np.float64)
    omegas = np.asarray(omegas, dtype=np.float64)
    if u.ndim != 1 or omegas.ndim != 1 or omegas.size < 1:
        raise ValueError(f"need u [n] and omegas [L], got shapes {u.shape} and {omegas.shape}")
    phases = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, size=(omegas.size, 1))
    return standardise(np.sin(omegas[:, None] * u[None, :] + phases))


def normalised_mse(pred: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """``mean_i (V_i − G_i)² / var_i(G_i)`` along the last axis: ``[..., n], [..., n] -> [...]``.

    0 is a perfect fit, 1 the error of predicting the mean return everywhere.
    """
    pred, returns = np.asarray(pred, dtype=np.float64), np.asarray(returns, dtype=np.float64)
    return ((pred - returns) ** 2).mean(axis=-1) / returns.var(axis=-1)


def make_deep_value_fits(
    apply: Callable,
    gamma: float,
    stride: int,
    num_steps: int,
    pretrain_steps: int,
    batch_size: int,
    learning_rate: float,
    target_every: int,
) -> Callable[[jax.Array, object, dict[str, jax.Array], jax.Array], tuple[object, object, object, object]]:
    """A jit-compiled ``run(rng, params, train, pretrain_targets) -> (td, twin, pretrained, finetuned)``, one seed.

    ``apply(params, obs [B, ...]) -> [B, 1]`` is a value network (a one-action Q-network),
    ``params`` its initialisation, ``train`` the training transitions of
    :func:`interleaved_frames` (leaves ``[D, ...]``) and ``pretrain_targets`` ``[L, D]``
    (e.g. :func:`projection_sinusoids` of the training frames).  All fits are
    :func:`tdgen.rl.offline.make_offline_fit` on minibatches of the training frames
    only, with Adam and the same minibatch keys:

    * ``td``: ``num_steps`` steps of TD towards ``R_t + γ^k (1 − D_t) V_θ⁻(x_{t+k})``
      (``k = stride``, θ⁻ copied every ``target_every`` steps) — TD(0) on the training frames,
      with ``R_t`` the discounted rewards of steps ``t, …, t + k − 1`` cut at an episode end
      (``D_t = 1``), so TD sees every reward but never a held-out frame, not even as a
      successor.  It learns the value of the policy that played (ε-greedy), not of its greedy
      policy: Q-learning's targets would aim at the greedy policy's values, which the Monte
      Carlo returns ``G_t`` of the play do not measure;
    * ``twin``: ``num_steps`` steps of regression from ``params`` on ``V_td(x_t)``, the TD
      fit's outputs on the training frames, with the Monte Carlo arm's keys: the Monte Carlo
      arm with TD's training values in place of ``G_t``;
    * ``pretrained`` ``[L, ...]``: ``pretrain_steps`` steps of regression on each
      ``pretrain_targets[l]``, from ``params``;
    * ``finetuned`` ``[L + 1, ...]``: ``num_steps`` steps of regression on ``G_t`` (Monte
      Carlo targets, fresh optimiser state), index 0 from ``params`` (from scratch: the Monte
      Carlo arm), index ``l + 1`` after ``pretrain_steps`` steps of regression on
      ``pretrain_targets[l]``.

    Returns parameter trees (leaves ``[...]`` for ``td`` and ``twin``, ``[L, ...]`` for ``pretrained``
    and ``[L + 1, ...]`` for ``finetuned``).  Vmap over seeds (``rng``, ``params``, ``train``, ``pretrain_targets``).
    """

    if stride < 1 or pretrain_steps < 1:
        raise ValueError(f"need stride >= 1 and pretrain_steps >= 1, got {stride} and {pretrain_steps}")
    td = make_offline_fit(apply, "td", gamma**stride, num_steps, batch_size, learning_rate, target_every, 1)
    mc = make_offline_fit(apply, "mc", gamma**stride, num_steps, batch_size, learning_rate, target_every, 1)
    pre = make_offline_fit(apply, "mc", gamma**stride, pretrain_steps, batch_size, learning_rate, target_every, 1)
    last = lambda tree: jax.tree.map(lambda p: p[-1], tree)

    def run(rng, params, train, pretrain_targets):
        if pretrain_targets.ndim != 2 or pretrain_targets.shape[1] != train["mc_return"].shape[0]:
            raise ValueError(
                f"pretrain_targets must be [L, {train['mc_return'].shape[0]}], got {pretrain_targets.shape}"
            )
        fit_key, pre_key = jax.random.split(rng)
        td_params = last(td(fit_key, params, train))
        twin = last(mc(fit_key, params, {**train, "mc_return": apply(td_params, train["obs"])[:, 0]}))

        def pretrain(target):
            return last(pre(pre_key, params, {**train, "mc_return": target}))

        pretrained = jax.vmap(pretrain)(pretrain_targets)
        starts = jax.tree.map(lambda p0, p: jnp.concatenate([p0[None], p]), params, pretrained)
        finetuned = jax.vmap(lambda p: last(mc(fit_key, p, train)))(starts)
        return td_params, twin, pretrained, finetuned

    return jax.jit(run)


# ---------------------------------------------------------------------------------------
# Deep RL: the dataset of frames, the fits and their errors, one object each.
# ---------------------------------------------------------------------------------------


def agent_play(
    env: Env, apply: Callable, agent_params: Any, plays: int, epsilon: float, n_steps: int, rng: jax.Array
) -> dict[str, np.ndarray]:
    """ε-greedy play of trained Q-network agents, ``plays`` per agent: leaves ``[A · plays, n_steps, N, ...]``.

    ``agent_params`` has leaves ``[A, ...]`` (``A`` agents, e.g. each training seed's final
    parameters) for the Q-network ``apply(params, obs) -> Q [N, actions]``.  Seed ``i`` (one
    play) plays agent ``i // plays`` with :func:`tdgen.rl.policies.epsilon_greedy` in ``env``
    (``N`` parallel copies) for ``n_steps`` steps (:func:`tdgen.rl.rollouts.rollout`), from
    key ``i`` of ``jax.random.split(rng, A · plays)``, so :func:`per_agent` reshapes any
    per-seed array to ``[A, plays, ...]``.  Returns the rollout's ``obs``, ``action``,
    ``reward``, ``done`` and ``reset_step`` as NumPy arrays.
    """
    if plays < 1:
        raise ValueError(f"plays must be at least 1, got {plays}")
    n_agents = jax.tree.leaves(agent_params)[0].shape[0]
    players = jax.tree.map(lambda p: p[np.repeat(np.arange(n_agents), plays)], agent_params)
    behaviour = epsilon_greedy(apply, epsilon)
    play = jax.jit(jax.vmap(lambda p, k: rollout(env, behaviour, p, n_steps, k)))
    return jax.device_get(play(players, jax.random.split(rng, n_agents * plays)))


def per_agent(values: np.ndarray, n_agents: int) -> np.ndarray:
    """Per-seed values grouped by agent: ``[A · plays, ...] -> [A, plays, ...]`` (seed ``i`` is agent ``i // plays``).

    The nested ``[units, subunits]`` layout of :func:`tdgen.claimtests.mean_test` and
    :func:`tdgen.claimtests.ratio_test`: the agents are the independent units.
    """
    values = np.asarray(values)
    if n_agents < 1 or values.shape[0] % n_agents:
        raise ValueError(f"{values.shape[0]} seeds do not split evenly among {n_agents} agents")
    return values.reshape(n_agents, values.shape[0] // n_agents, *values.shape[1:])


def stack_frames(parts: Sequence[dict[str, np.ndarray]], n: int) -> dict[str, np.ndarray]:
    """The first ``n`` frames of every part, stacked: part ``i``'s leaves ``[D_i, ...]`` -> ``[len(parts), n, ...]``."""
    if any(leaf.shape[0] < n for part in parts for leaf in jax.tree.leaves(part)):
        raise ValueError(f"every part needs at least {n} frames")
    return jax.tree.map(lambda *a: np.stack([x[:n] for x in a]), *parts)


def standardised_projection(train_obs: np.ndarray, play_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The :func:`random_projection` ``u`` of the frames, standardised per seed over its training frames.

    ``train_obs [S, D, ...]`` are each seed's training frames and ``play_obs [S, T, N, ...]``
    its whole play.  With ``p = ⟨w, vec x⟩`` and ``m_i``, ``s_i`` the mean and standard
    deviation of ``p`` over seed ``i``'s training frames, returns ``u = (p − m_i) / s_i`` on
    the training frames, ``[S, D]``, and ``p / s_i`` along the play, ``[S, T, N]`` (in the
    same units, not centred: only its steps between frames are used).
    """
    raw = np.stack([random_projection(x) for x in train_obs])
    centre, scale = raw.mean(axis=1, keepdims=True), raw.std(axis=1, keepdims=True)
    along_play = random_projection(play_obs.reshape(-1, *play_obs.shape[3:]))
    return (raw - centre) / scale, along_play.reshape(play_obs.shape[:3]) / scale[:, :, None]


def frequency_range(u: np.ndarray, along_play: np.ndarray, n_levels: int) -> tuple[np.ndarray, float, float]:
    """Pre-training frequencies from half a period across ``u``'s range to the frames' Nyquist frequency.

    ``span`` is the median over seeds of ``max u − min u`` (``u [S, D]``), ``spacing`` the
    median ``|u(x_{t+1}) − u(x_t)|`` between consecutive frames of the play
    (``along_play [S, T, N]``, time on axis 1).  Returns ``(omegas [n_levels], span, spacing)``
    with ``omegas`` geometrically spaced from ``π / span`` to ``π / spacing``.

    The lowest frequency puts half a period across the range of ``u`` on the training
    frames, as the lowest of :func:`tdgen.critical.sinusoid_targets` does across a grid.  At the highest,
    ``sin(ω u + φ)`` typically changes sign between a frame and the next — between a
    training frame and its held-out neighbour — the analogue of a grid's Nyquist frequency.
    (A prototype range, evenly spaced from ``π/2``, changed every target by about a radian
    or more between neighbouring frames: no smooth target at all.)
    """
    spacing = float(np.median(np.abs(np.diff(along_play, axis=1))))
    span = float(np.median(u.max(axis=1) - u.min(axis=1)))
    return np.geomspace(np.pi / span, np.pi / spacing, n_levels), span, spacing


@dataclass(frozen=True)
class FrameData:
    """The deep-RL dataset of claim 3, built once by :func:`frame_data` (``S`` seeds, ``L`` frequencies).

    Attributes:
      train: each seed's training transitions (:func:`interleaved_frames`), leaves ``[S, D, ...]``.
      held: each seed's held-out frames, ``obs [S, H, ...]`` and ``mc_return [S, H]``.
      sizes: ``[S, 2]`` training and held-out frames of each seed before the cut to ``D`` and ``H``.
      span: median range of the standardised projection ``u`` over the training frames.
      spacing: median step of ``u`` between consecutive frames of the play.
      omegas: ``[L]`` the pre-training frequencies (:func:`frequency_range`).
      targets: ``[S, L, D]`` float32 pre-training targets (:func:`projection_sinusoids` of ``u``).
      discount: ``γ^stride``, the discount of the training transitions.
    """

    train: dict[str, np.ndarray]
    held: dict[str, np.ndarray]
    sizes: np.ndarray
    span: float
    spacing: float
    omegas: np.ndarray
    targets: np.ndarray
    discount: float


def frame_data(play: dict[str, np.ndarray], gamma: float, stride: int, n_levels: int) -> FrameData:
    """Training and held-out frames of each seed's play, and their pre-training targets.

    ``play`` has leaves ``[S, T, N, ...]`` (:func:`agent_play`).  Each seed's play is split by
    :func:`interleaved_frames` (every ``stride``-th frame for training, the frames between
    held out; why claim 3 takes ``stride = 3`` is written there), keeping only frames whose
    episode ended within the play, with their discounted returns ``G_t`` (discount
    ``gamma``; claim 3 takes the profile's 0.9 rather than the agent's 0.99, so that TD can
    propagate the rewards within its budget).  All seeds are cut to the smallest number of
    training and of held-out frames over seeds (:func:`stack_frames`) so that they run as
    one vmap.  The targets are ``sin(ω_l u + φ_l)``, standardised
    (:func:`projection_sinusoids`), of the :func:`standardised_projection` ``u`` of the
    training frames — the projection ``⟨w, vec x⟩`` of the flattened observation on one
    random unit direction ``w`` — at the frequencies of :func:`frequency_range`.
    """
    n_seeds = play["obs"].shape[0]
    splits = [interleaved_frames(jax.tree.map(operator.itemgetter(s), play), gamma, stride) for s in range(n_seeds)]
    sizes = np.array([[t["obs"].shape[0], h["obs"].shape[0]] for t, h in splits])
    train = stack_frames([t for t, _ in splits], sizes[:, 0].min())
    held = stack_frames([h for _, h in splits], sizes[:, 1].min())
    u, along_play = standardised_projection(train["obs"], play["obs"])
    omegas, span, spacing = frequency_range(u, along_play, n_levels)
    targets = np.stack([projection_sinusoids(row, omegas) for row in u]).astype(np.float32)
    return FrameData(train, held, sizes, span, spacing, omegas, targets, gamma**stride)


def frame_table(data: FrameData) -> str:
    """The dataset's frames per seed before and after the cut, its returns and its frequencies, as text."""
    (train_lo, held_lo), (train_hi, held_hi) = data.sizes.min(axis=0), data.sizes.max(axis=0)
    returns = data.held["mc_return"]
    return "\n".join(
        [
            f"frames kept per seed (finished episodes): {train_lo}–{train_hi} training, "
            f"{held_lo}–{held_hi} held-out; cut to {train_lo} and {held_lo}",
            f"returns G_t: mean {returns.mean():.3f}, std {returns.std():.3f} (held-out frames)",
            f"projection: median range {data.span:.2f}, median step between frames {data.spacing:.3f}; "
            f"ω = {np.round(data.omegas, 2)}",
        ]
    )


@dataclass(frozen=True)
class DeepFits:
    """Parameters of the deep fits of every seed (:func:`deep_value_fits`).

    Attributes:
      td: the TD fit, leaves ``[S, ...]``.
      twin: the regression on the TD fit's training-frame outputs, leaves ``[S, ...]``.
      pretrained: the networks after pre-training on each frequency, leaves ``[S, L, ...]``.
      finetuned: after Monte Carlo fine-tuning, leaves ``[S, L + 1, ...]``; index 0 is the
        network trained from scratch (the Monte Carlo arm), ``l + 1`` the one pre-trained on ``omegas[l]``.
    """

    td: Any
    twin: Any
    pretrained: Any
    finetuned: Any

    @property
    def from_scratch(self) -> dict[str, Any]:
        """The fits from the initialisation, keyed by :data:`tdgen.critical.ARMS`: leaves ``[S, ...]``."""
        return {"td": self.td, "twin": self.twin, "mc": jax.tree.map(lambda p: p[:, 0], self.finetuned)}


def deep_value_fits(net: nn.Module, data: FrameData, budget: CriticalBudget, stride: int, rng: jax.Array) -> DeepFits:
    """Every deep fit of every seed: :func:`make_deep_value_fits`, vmapped over seeds.

    ``net`` is a value network (``apply(params, obs [B, ...]) -> [B, 1]``); seed ``i`` is
    initialised from key ``i`` of the first and fitted with key ``i`` of the second row of
    ``jax.random.split(rng, (2, S))``.  Discount ``budget.gamma`` (``γ^stride`` for TD's
    ``stride``-step transitions), ``budget.deep_steps`` steps of TD, of Monte Carlo
    regression, of the twin and of each fine-tuning, ``budget.deep_pretrain_steps`` of each
    pre-training, minibatches of ``budget.deep_batch_size``, Adam
    ``budget.deep_learning_rate``, target network copied every ``budget.deep_target_every`` steps.
    """
    init_keys, fit_keys = jax.random.split(rng, (2, data.targets.shape[0]))
    inits = jax.vmap(net.init, in_axes=(0, None))(init_keys, data.train["obs"][0, :1])
    run = make_deep_value_fits(
        net.apply,
        budget.gamma,
        stride,
        budget.deep_steps,
        budget.deep_pretrain_steps,
        budget.deep_batch_size,
        budget.deep_learning_rate,
        budget.deep_target_every,
    )
    return DeepFits(*jax.vmap(run)(fit_keys, inits, data.train, data.targets))


def normalised_bellman_residual(
    values: np.ndarray,
    next_values: np.ndarray,
    reward: np.ndarray,
    done: np.ndarray,
    discount: float,
    returns: np.ndarray,
) -> np.ndarray:
    """TD's error on its own training transitions, in the units of :func:`normalised_mse`: ``[..., D] -> [...]``.

        mean_t (V(x_t) − R_t − γ^k (1 − D_t) V(x_{t+k}))² / var_t G_t

    with ``values`` ``V(x_t)``, ``next_values`` ``V(x_{t+k})`` (the same network, no target
    network), ``reward`` ``R_t``, ``done`` ``D_t`` and ``discount`` ``γ^k`` of the
    ``k``-step transitions of :func:`interleaved_frames`, and ``returns`` ``G_t``.  Zero
    when the network satisfies the Bellman equation on every training frame: TD has converged.
    """
    target = np.asarray(reward) + discount * (1.0 - np.asarray(done)) * np.asarray(next_values)
    return ((np.asarray(values, dtype=np.float64) - target) ** 2).mean(axis=-1) / np.asarray(returns).var(axis=-1)


@dataclass(frozen=True)
class DeepErrors:
    """:func:`normalised_mse` against ``G_t`` of every deep fit (:func:`deep_errors`).

    ``held`` and ``train`` (held-out and training frames) map each of :data:`tdgen.critical.ARMS` to
    ``[S]`` and ``"pre"`` (fine-tuned after pre-training) to ``[S, L]``; ``bellman`` maps
    each of :data:`tdgen.critical.ARMS` to its :func:`normalised_bellman_residual` on the training frames,
    ``[S]``; ``disagreement`` ``[S]`` is the normalised mean squared difference between the TD
    fit and its twin on the held-out frames, ``twin_fit`` ``[S]`` the twin's on the training
    frames (how closely the twin matched TD's training values); ``pretrain`` is ``[S, L]``,
    the pre-trained networks' error on their own targets over the training frames.
    """

    held: dict[str, np.ndarray]
    train: dict[str, np.ndarray]
    bellman: dict[str, np.ndarray]
    disagreement: np.ndarray
    twin_fit: np.ndarray
    pretrain: np.ndarray

    def nested(self, n_agents: int) -> DeepErrors:
        """Every array grouped by agent with :func:`per_agent`: ``[S, ...] -> [A, S / A, ...]``."""

        def group(value: dict[str, np.ndarray] | np.ndarray) -> dict[str, np.ndarray] | np.ndarray:
            if isinstance(value, dict):
                return {arm: per_agent(v, n_agents) for arm, v in value.items()}
            return per_agent(value, n_agents)

        return DeepErrors(**{f.name: group(getattr(self, f.name)) for f in dataclasses.fields(self)})


def deep_errors(apply: Callable, data: FrameData, fits: DeepFits) -> DeepErrors:
    """Normalised errors ``mean (V_θ(x) − G)² / var G`` of every fit of ``fits`` on ``data``'s frames.

    Also each from-scratch fit's :func:`normalised_bellman_residual` on the training
    transitions (discount ``data.discount``) and the TD fit's normalised distance to its
    twin, on the held-out frames (``disagreement``) and on the training frames (``twin_fit``).
    """
    value_of = jax.jit(jax.vmap(lambda p, x: apply(p, x)[..., 0]))
    values_of = jax.jit(jax.vmap(jax.vmap(lambda p, x: apply(p, x)[..., 0], in_axes=(0, None))))
    scratch = fits.from_scratch
    errors, outputs = {}, {}
    for frames, part in (("train", data.train), ("held", data.held)):
        g = part["mc_return"]
        outputs[frames] = {arm: np.asarray(value_of(params, part["obs"])) for arm, params in scratch.items()}
        finetuned = np.asarray(values_of(jax.tree.map(lambda p: p[:, 1:], fits.finetuned), part["obs"]))
        errors[frames] = {
            **{arm: normalised_mse(v, g) for arm, v in outputs[frames].items()},
            "pre": normalised_mse(finetuned, g[:, None]),
        }
    t = data.train
    bellman = {
        arm: normalised_bellman_residual(
            outputs["train"][arm],
            np.asarray(value_of(params, t["next_obs"])),
            t["reward"],
            t["done"],
            data.discount,
            t["mc_return"],
        )
        for arm, params in scratch.items()
    }

    def distance(frames: str, part: dict[str, np.ndarray]) -> np.ndarray:
        diff = outputs[frames]["td"] - outputs[frames]["twin"]
        return (diff.astype(np.float64) ** 2).mean(axis=-1) / part["mc_return"].var(axis=-1)

    pretrain = normalised_mse(np.asarray(values_of(fits.pretrained, t["obs"])), data.targets)
    return DeepErrors(
        errors["held"], errors["train"], bellman, distance("held", data.held), distance("train", t), pretrain
    )


def deep_error_table(omegas: np.ndarray, errors: DeepErrors) -> str:
    """Mean over seeds of every error of ``errors``, one row per arm, as text."""
    lines = [f"{'arm':30s} {'pre-train':>9s} {'training':>8s} {'Bellman':>8s} {'held-out':>8s}"]
    labels = {"td": "TD", "twin": "twin (regression on TD's values)", "mc": "Monte Carlo (from scratch)"}
    for arm, label in labels.items():
        lines.append(
            f"{label:30.30s} {'':9s} {errors.train[arm].mean():8.3f} {errors.bellman[arm].mean():8.3f} "
            f"{errors.held[arm].mean():8.3f}"
        )
    for level, omega in enumerate(omegas):
        lines.append(
            f"{f'pre-trained, ω = {omega:.2f}':30s} {errors.pretrain[:, level].mean():9.3f} "
            f"{errors.train['pre'][:, level].mean():8.3f} {'':8s} {errors.held['pre'][:, level].mean():8.3f}"
        )
    lines.append(
        f"TD against its twin: {errors.twin_fit.mean():.4f} on the training frames, "
        f"{errors.disagreement.mean():.3f} on the held-out frames (normalised mean squared difference)"
    )
    return "\n".join(lines)


def trajectory_values(
    play: dict[str, np.ndarray], gamma: float, apply: Callable, fits: DeepFits, n_steps: int
) -> dict[str, np.ndarray]:
    """Seed 0's first trajectory (environment 0) over its first ``n_steps`` steps: returns and predictions.

    Returns ``t [n_steps]``, ``G`` (the discounted return ``G_t``, NaN where the episode did not
    finish within the play), and the predictions ``td``, ``twin`` and ``mc`` (the network
    trained from scratch by Monte Carlo regression) of seed 0's fits on the trajectory's
    frames, each ``[n_steps]``.
    """
    returns, finished = map(np.asarray, discounted_returns(play["reward"][0], play["done"][0], gamma))
    t = np.arange(min(n_steps, returns.shape[0]))
    frames = play["obs"][0, t, 0]
    seed0 = jax.tree.map(lambda p: p[0], fits.from_scratch)
    return {
        "t": t,
        "G": np.where(finished[t, 0], returns[t, 0], np.nan),
        **{arm: np.asarray(apply(params, frames)[:, 0]) for arm, params in seed0.items()},
    }
