"""Claim 3 in deep RL: frames of trained agents, TD against its twin and Monte Carlo, errors grouped by agent."""

import dataclasses

import jax
import numpy as np
import pytest

from tdgen import critical, critical_deep
from tdgen.envs import make_env
from tdgen.profiles import get_profile
from tdgen.rl import offline, policies, rollouts
from tdgen.rl.networks import QNetwork
from tdgen.rl.td import discounted_returns


@pytest.fixture(scope="module")
def small_budget():
    return dataclasses.replace(
        get_profile("smoke").critical,
        deep_pretrain_steps=4,
        deep_steps=6,
        deep_batch_size=8,
        deep_target_every=2,
    )


def _toy_rollout():
    """Two trajectories of 8 steps; obs[t, n] = 10 t + n, so frames can be identified."""
    reward = np.array([[1, 0, 0, 2, 0, 1, 0, 0], [0, 1, 1, 0, 0, 0, 3, 0]], dtype=np.float32).T
    done = np.array([[0, 0, 1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0, 1]], dtype=bool).T
    obs = (10 * np.arange(8)[:, None] + np.arange(2)[None, :]).astype(np.float32)[..., None]
    return {"obs": obs, "reward": reward, "done": done}


def test_interleaved_frames_split_trajectories_into_training_and_held_out_frames():
    rollout, gamma, k = _toy_rollout(), 0.5, 3
    train, held = critical_deep.interleaved_frames(rollout, gamma, stride=k)
    returns, complete = map(np.asarray, discounted_returns(rollout["reward"], rollout["done"], gamma))
    t_train, n_train = divmod(train["obs"][:, 0].astype(int), 10)
    t_held, n_held = divmod(held["obs"][:, 0].astype(int), 10)
    # Training frames: t ≡ 0 (mod k), t + k ≤ T − 1, finished episode (env 0 ends at t = 6, env 1 at 7).
    assert sorted(zip(t_train.tolist(), n_train.tolist())) == [(0, 0), (0, 1), (3, 0), (3, 1)]
    assert np.all(t_held % k != 0) and np.all(complete[t_held, n_held])
    assert len(t_held) == int(complete.sum() - sum(complete[t, n] for t in (0, 3, 6) for n in (0, 1)))
    np.testing.assert_array_equal(train["next_obs"][:, 0], train["obs"][:, 0] + 10 * k)
    np.testing.assert_allclose(train["mc_return"], returns[t_train, n_train])
    np.testing.assert_allclose(held["mc_return"], returns[t_held, n_held])
    # G_t = R_t + γ^k (1 − D_t) G_{t+k}; env 0's first episode ends (t = 2) inside its transition 0 → 3.
    np.testing.assert_allclose(
        train["mc_return"], train["reward"] + gamma**k * (1 - train["done"]) * returns[t_train + k, n_train]
    )
    np.testing.assert_array_equal(train["done"], (t_train == 0) & (n_train == 0))
    np.testing.assert_allclose(train["reward"][(t_train == 0) & (n_train == 0)], [1.0])  # stops at the episode end
    assert np.all(train["action"] == 0)
    with pytest.raises(ValueError, match="stride"):
        critical_deep.interleaved_frames(rollout, gamma, stride=1)
    with pytest.raises(ValueError, match="no transition"):
        critical_deep.interleaved_frames(rollout, gamma, stride=8)


def test_random_projection_and_its_sinusoids():
    x = np.eye(6).reshape(6, 3, 2)  # one-hot frames: their projections are the direction's entries
    w = critical_deep.random_projection(x, seed=1)
    np.testing.assert_allclose(np.sum(w**2), 1.0)
    np.testing.assert_array_equal(critical_deep.random_projection(x[::-1], seed=1), w[::-1])
    assert not np.allclose(critical_deep.random_projection(x, seed=2), w)
    u = np.linspace(-2, 2, 50)
    omegas = np.array([0.5, 2.0, 8.0])
    g = critical_deep.projection_sinusoids(u, omegas, seed=3)
    assert g.shape == (3, 50)
    np.testing.assert_allclose(g.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(g.std(axis=1), 1.0)
    for omega, row in zip(omegas, g):  # an affine image of a sin(ωu) + b cos(ωu)
        basis = np.stack([np.sin(omega * u), np.cos(omega * u), np.ones_like(u)], axis=1)
        np.testing.assert_allclose(basis @ np.linalg.lstsq(basis, row, rcond=None)[0], row, atol=1e-9)
    assert np.all(np.diff(np.abs(np.diff(g, axis=1)).mean(axis=1)) > 0)  # faster, rougher along u
    with pytest.raises(ValueError, match="omegas"):
        critical_deep.projection_sinusoids(u, np.array([]))


def test_normalised_bellman_residual_is_zero_on_the_bellman_equation():
    rng = np.random.default_rng(0)
    next_values, reward = rng.standard_normal((2, 6)), rng.standard_normal((2, 6))
    done = np.array([[0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 1]], dtype=np.float32)
    returns = rng.standard_normal((2, 6))
    values = reward + 0.5 * (1 - done) * next_values  # V(x_t) = R_t + γ^k (1 − D_t) V(x_{t+k})
    residual = critical_deep.normalised_bellman_residual(values, next_values, reward, done, 0.5, returns)
    np.testing.assert_allclose(residual, 0.0, atol=1e-12)
    shifted = critical_deep.normalised_bellman_residual(values + 2.0, next_values, reward, done, 0.5, returns)
    np.testing.assert_allclose(shifted, 4.0 / returns.var(axis=1))


def test_per_agent_groups_consecutive_seeds():
    values = np.arange(12).reshape(6, 2)  # 6 seeds: 3 agents × 2 plays
    nested = critical_deep.per_agent(values, 3)
    assert nested.shape == (3, 2, 2)
    np.testing.assert_array_equal(nested[1, 0], values[2])  # seed 2 is agent 2 // 2 = 1's first play
    with pytest.raises(ValueError, match="evenly"):
        critical_deep.per_agent(values, 4)


def test_normalised_mse():
    g = np.array([[1.0, 2.0, 3.0, 6.0]])
    np.testing.assert_allclose(critical_deep.normalised_mse(g, g), [0.0])
    np.testing.assert_allclose(critical_deep.normalised_mse(np.full_like(g, g.mean()), g), [1.0])


def test_deep_value_fits_share_initialisation_and_minibatches():
    env = make_env("Breakout-MinAtar", 4)
    actor = QNetwork(env.num_actions)
    play = rollouts.rollout(
        env,
        policies.epsilon_greedy(actor.apply, 1.0),
        actor.init(jax.random.PRNGKey(0), env.reset(jax.random.PRNGKey(1))[0]),
        120,
        jax.random.PRNGKey(2),
    )
    train, held = critical_deep.interleaved_frames(play, 0.9, stride=3)
    assert train["obs"].shape[0] > 10 and held["obs"].shape[0] > train["obs"].shape[0]
    net = QNetwork(1)
    params = net.init(jax.random.PRNGKey(3), train["obs"][:1])
    u = critical_deep.random_projection(train["obs"])
    targets = critical_deep.projection_sinusoids((u - u.mean()) / u.std(), [1.0, 8.0]).astype(np.float32)
    run = critical_deep.make_deep_value_fits(net.apply, 0.9, 3, 40, 30, 16, 1e-3, 10)
    rng = jax.random.PRNGKey(4)
    td, twin, pretrained, finetuned = run(rng, params, train, targets)
    assert all(leaf.shape[0] == 2 for leaf in jax.tree.leaves(pretrained))
    assert all(leaf.shape[0] == 3 for leaf in jax.tree.leaves(finetuned))
    # The TD arm, the from-scratch arm and the twin are offline fits from the same keys, γ^3 for TD;
    # the twin is the Monte Carlo fit with the TD network's training-frame outputs as its returns.
    fit_key, _ = jax.random.split(rng)
    offline_fit = lambda kind: jax.jit(offline.make_offline_fit(net.apply, kind, 0.9**3, 40, 16, 1e-3, 10, 1))
    td_values = net.apply(td, train["obs"])[:, 0]
    for got, kind, data in (
        (td, "td", train),
        (jax.tree.map(lambda p: p[0], finetuned), "mc", train),
        (twin, "mc", {**train, "mc_return": td_values}),
    ):
        want = offline_fit(kind)(fit_key, params, data)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(a, b[-1], rtol=1e-4, atol=1e-5)
    # Pre-training moves the network towards its target.
    before = critical_deep.normalised_mse(np.asarray(net.apply(params, train["obs"])[:, 0]), targets[0])
    after = critical_deep.normalised_mse(
        np.asarray(net.apply(jax.tree.map(lambda p: p[0], pretrained), train["obs"])[:, 0]), targets[0]
    )
    assert after < before
    with pytest.raises(ValueError, match="pretrain_targets"):
        run(rng, params, train, targets[:, :5])


def test_stack_frames_cuts_every_part_to_n():
    parts = [{"obs": np.arange(5)[:, None] + 10 * i, "g": np.arange(5) * i} for i in range(3)]
    parts[1] = {k: v[:4] for k, v in parts[1].items()}
    stacked = critical_deep.stack_frames(parts, 4)
    assert stacked["obs"].shape == (3, 4, 1) and stacked["g"].shape == (3, 4)
    np.testing.assert_array_equal(stacked["obs"][2, :, 0], [20, 21, 22, 23])
    with pytest.raises(ValueError, match="at least 5 frames"):
        critical_deep.stack_frames(parts, 5)


def test_standardised_projection_shares_the_training_frames_scale():
    rng = np.random.default_rng(0)
    play_obs = (rng.random((2, 10, 3, 4, 2)) < 0.3).astype(np.float32)  # [S, T, N, 4, 2]
    train_obs = play_obs[:, ::2, 0]  # [S, 5, 4, 2]: frames of the play
    u, along = critical_deep.standardised_projection(train_obs, play_obs)
    assert u.shape == (2, 5) and along.shape == (2, 10, 3)
    np.testing.assert_allclose(u.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(u.std(axis=1), 1.0)
    # Same direction and scale, not centred: u and the play's projection differ by a constant per seed.
    offset = along[:, ::2, 0] - u
    np.testing.assert_allclose(offset, offset[:, :1].repeat(5, axis=1), atol=1e-12)


def test_frequency_range_runs_from_half_a_period_to_nyquist():
    u = np.array([[0.0, 1.0, 2.0], [-2.0, 0.0, 2.0], [0.0, 3.0, 6.0]])  # ranges 2, 4, 6
    along = 0.5 * np.arange(7.0)[None, :, None] * np.ones((3, 1, 2))  # steps of 0.5
    omegas, span, spacing = critical_deep.frequency_range(u, along, 4)
    assert (span, spacing) == (4.0, 0.5)
    np.testing.assert_allclose(omegas, np.geomspace(np.pi / 4, 2 * np.pi, 4))
    np.testing.assert_allclose(omegas[1:] / omegas[:-1], 2.0)


def test_frame_data_splits_each_seed_and_cuts_to_the_smallest():
    one = _toy_rollout()
    other = {**one, "done": np.zeros_like(one["done"])}
    other["done"][4] = True  # seed 1: both episodes end at t = 4, fewer finished frames
    play = {k: np.stack([one[k], other[k]]) for k in one}
    data = critical_deep.frame_data(play, 0.5, 3, 3)
    splits = [critical_deep.interleaved_frames(r, 0.5, 3) for r in (one, other)]
    sizes = [[t["obs"].shape[0], h["obs"].shape[0]] for t, h in splits]
    np.testing.assert_array_equal(data.sizes, sizes)
    d, h = np.min(sizes, axis=0)
    assert data.train["obs"].shape == (2, d, 1) and data.held["mc_return"].shape == (2, h)
    for s, (train, held) in enumerate(splits):
        np.testing.assert_array_equal(data.train["reward"][s], train["reward"][:d])
        np.testing.assert_array_equal(data.held["obs"][s], held["obs"][:h])
    assert data.targets.shape == (2, 3, d) and data.targets.dtype == np.float32
    u, along = critical_deep.standardised_projection(data.train["obs"], play["obs"])
    np.testing.assert_array_equal(data.omegas, critical_deep.frequency_range(u, along, 3)[0])
    np.testing.assert_allclose(data.targets[1], critical_deep.projection_sinusoids(u[1], data.omegas), rtol=1e-6)
    table = critical_deep.frame_table(data).splitlines()
    assert len(table) == 3 and table[0].endswith(f"cut to {d} and {h}")


@pytest.fixture(scope="module")
def breakout_play():
    env = make_env("Breakout-MinAtar", 4)
    actor = QNetwork(env.num_actions)
    obs = env.reset(jax.random.PRNGKey(1))[0]
    agents = jax.vmap(actor.init, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(0), 2), obs)  # 2 agents
    return env, actor, agents, critical_deep.agent_play(env, actor.apply, agents, 2, 0.5, 60, jax.random.PRNGKey(5))


def test_agent_play_gives_each_agent_its_plays_and_each_play_its_own_key(breakout_play):
    env, actor, agents, play = breakout_play
    assert play["obs"].shape[:3] == (4, 60, 4) and play["reward"].shape == play["done"].shape == (4, 60, 4)
    assert isinstance(play["obs"], np.ndarray)
    # Seed 1 plays agent 1 // 2 = 0 with key 1, seed 2 agent 1 with key 2.
    keys = jax.random.split(jax.random.PRNGKey(5), 4)
    for seed, agent in ((1, 0), (2, 1)):
        params = jax.tree.map(lambda p, a=agent: p[a], agents)
        want = rollouts.rollout(env, policies.epsilon_greedy(actor.apply, 0.5), params, 60, keys[seed])
        np.testing.assert_array_equal(play["obs"][seed], np.asarray(want["obs"]))
        np.testing.assert_array_equal(play["action"][seed], np.asarray(want["action"]))
    assert not np.array_equal(play["action"][0], play["action"][1])
    with pytest.raises(ValueError, match="plays"):
        critical_deep.agent_play(env, actor.apply, agents, 0, 0.5, 60, jax.random.PRNGKey(5))


def test_deep_value_fits_and_their_errors(breakout_play, small_budget):
    _, _, _, play = breakout_play
    data = critical_deep.frame_data(play, 0.9, 3, 2)
    assert data.discount == pytest.approx(0.9**3)
    net, rng = QNetwork(1), jax.random.PRNGKey(7)
    fits = critical_deep.deep_value_fits(net, data, small_budget, 3, rng)
    for tree, shape in ((fits.td, (4,)), (fits.twin, (4,)), (fits.pretrained, (4, 2)), (fits.finetuned, (4, 3))):
        assert all(leaf.shape[: len(shape)] == shape for leaf in jax.tree.leaves(tree))
    # Seed 1 on its own: initialised with key 1 of the first row, fitted with key 1 of the second.
    init_keys, fit_keys = jax.random.split(rng, (2, 4))
    seed1 = jax.tree.map(lambda a: a[1], data.train)
    params = net.init(init_keys[1], seed1["obs"][:1])
    b = small_budget
    run = critical_deep.make_deep_value_fits(
        net.apply, b.gamma, 3, b.deep_steps, b.deep_pretrain_steps, b.deep_batch_size, b.deep_learning_rate, 2
    )
    td, twin, _, finetuned = run(fit_keys[1], params, seed1, data.targets[1])
    for got, want in ((fits.td, td), (fits.twin, twin), (fits.finetuned, finetuned)):
        for a, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(a[1], w, rtol=1e-4, atol=1e-6)

    errors = critical_deep.deep_errors(net.apply, data, fits)
    for part in (errors.held, errors.train):
        assert all(part[arm].shape == (4,) for arm in critical.ARMS) and part["pre"].shape == (4, 2)
    assert errors.pretrain.shape == (4, 2) and errors.disagreement.shape == errors.twin_fit.shape == (4,)
    value = lambda tree, obs: np.asarray(net.apply(tree, obs)[:, 0])
    seed = lambda tree, *index: jax.tree.map(lambda p: p[index], tree)
    g = data.held["mc_return"][1]
    np.testing.assert_allclose(
        errors.held["mc"][1], critical_deep.normalised_mse(value(seed(fits.finetuned, 1, 0), data.held["obs"][1]), g)
    )
    td_held, twin_held = value(seed(fits.td, 1), data.held["obs"][1]), value(seed(fits.twin, 1), data.held["obs"][1])
    np.testing.assert_allclose(errors.held["twin"][1], critical_deep.normalised_mse(twin_held, g), rtol=1e-5)
    np.testing.assert_allclose(errors.disagreement[1], np.mean((td_held - twin_held) ** 2) / g.var(), rtol=1e-4)
    t = seed1
    want = critical_deep.normalised_bellman_residual(
        value(seed(fits.td, 1), t["obs"]),
        value(seed(fits.td, 1), t["next_obs"]),
        t["reward"],
        t["done"],
        0.9**3,
        t["mc_return"],
    )
    np.testing.assert_allclose(errors.bellman["td"][1], want, rtol=1e-4)
    pre_values = value(seed(fits.pretrained, 2, 1), data.train["obs"][2])
    np.testing.assert_allclose(
        errors.pretrain[2, 1], critical_deep.normalised_mse(pre_values, data.targets[2, 1]), rtol=1e-5
    )
    nested = errors.nested(2)  # 2 agents × 2 plays
    assert nested.held["twin"].shape == (2, 2) and nested.held["pre"].shape == (2, 2, 2)
    np.testing.assert_array_equal(nested.bellman["td"][0, 1], errors.bellman["td"][1])
    np.testing.assert_array_equal(nested.disagreement[1, 0], errors.disagreement[2])
    table = critical_deep.deep_error_table(data.omegas, errors).splitlines()
    assert len(table) == 1 + 3 + 2 + 1 and [line.split()[0] for line in table[1:4]] == ["TD", "twin", "Monte"]

    trajectory = critical_deep.trajectory_values(play, 0.9, net.apply, fits, 30)
    assert all(trajectory[k].shape == (30,) for k in ("t", "G", *critical.ARMS))
    _, finished = map(np.asarray, discounted_returns(play["reward"][0], play["done"][0], 0.9))
    np.testing.assert_array_equal(np.isnan(trajectory["G"]), ~finished[:30, 0])
    np.testing.assert_allclose(trajectory["twin"], value(seed(fits.twin, 0), play["obs"][0, :30, 0]), rtol=1e-5)
