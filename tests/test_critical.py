"""Claim 3 helpers: targets, masks, pre-training then fine-tuning, TD against Monte Carlo fits."""

import dataclasses

import jax
import numpy as np
import pytest

from tdgen import critical, spectral
from tdgen.envs import tabular
from tdgen.profiles import get_profile
from tdgen.rl import offline, policies, rollouts
from tdgen.rl.td import discounted_returns


@pytest.fixture(scope="module")
def env():
    return tabular.open_grid(4, rewards={(0, 0): 1.0, (3, 2): -1.0})


def test_standardised_value_problem_keeps_the_bellman_equation(env):
    R, v = critical.standardised_value_problem(env.P, env.R, 0.9)
    np.testing.assert_allclose(v.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(v.std(), 1.0)
    np.testing.assert_allclose(tabular.value_function(env.P, R, 0.9), v, atol=1e-10)
    with pytest.raises(ValueError, match="constant"):
        critical.standardised_value_problem(env.P, np.zeros(env.n_states), 0.9)


def test_eigenvector_targets_run_from_smooth_to_rough(env):
    eig = spectral.eigendecomposition(env.P)
    ranks, targets = critical.eigenvector_targets(eig, 4)
    assert ranks.tolist() == [1, 6, 10, 15] and targets.shape == (4, 16)
    np.testing.assert_allclose(targets.std(axis=1), 1.0)
    energy = spectral.dirichlet_energy(targets, env.P)
    assert np.all(np.diff(energy) > 0)
    with pytest.raises(ValueError, match="n_levels"):
        critical.eigenvector_targets(eig, 16)
    with pytest.raises(tabular.InvalidMDPError, match="real eigenvectors"):
        critical.eigenvector_targets(spectral.eigendecomposition(tabular.ring(5, p_right=0.8).P), 2)


def test_sinusoid_targets_follow_the_plane_wave_equation_and_roughen():
    env = tabular.open_grid(12)
    x = tabular.encode_states(env, "coordinates")
    spacing = 2 / 11
    freqs, targets = critical.sinusoid_targets(x, 5, spacing, seed=3)
    assert freqs.shape == (5,) and targets.shape == (5, env.n_states)
    assert freqs[0] == np.pi / 2 and np.all(np.diff(freqs) > 0)
    np.testing.assert_allclose(targets.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(targets.std(axis=1), 1.0)

    # The targets are affine images of sin(ω_l⟨k, x⟩ + φ_l) = a sin(ω_l⟨k, x⟩) + b cos(ω_l⟨k, x⟩)
    # for one unit k = (cos θ, sin θ): scan θ, fit a, b and an offset by least squares.
    def residual(angle):
        u = x @ np.array([np.cos(angle), np.sin(angle)])
        total = 0.0
        for omega, g in zip(freqs, targets):
            basis = np.stack([np.sin(omega * u), np.cos(omega * u), np.ones_like(u)], axis=1)
            total += np.sum((basis @ np.linalg.lstsq(basis, g, rcond=None)[0] - g) ** 2)
        return total

    angles = np.linspace(0, np.pi, 1801)
    best = angles[np.argmin([residual(a) for a in angles])]
    assert residual(best) < 1e-3 * env.n_states
    # At the top level the wave's frequency along the nearer axis is the grid's Nyquist π / spacing.
    k = np.array([np.cos(best), np.sin(best)])
    np.testing.assert_allclose(freqs[-1] * np.abs(k).max(), np.pi / spacing, rtol=1e-2)
    # Higher frequency, rougher function (Dirichlet energy under the random walk).
    energy = spectral.dirichlet_energy(targets, env.P)
    assert np.all(np.diff(energy) > 0)
    # Same seed, same targets; another seed, another direction and other phases.
    np.testing.assert_array_equal(critical.sinusoid_targets(x, 5, spacing, seed=3)[1], targets)
    assert not np.allclose(critical.sinusoid_targets(x, 5, spacing, seed=4)[1], targets)
    with pytest.raises(ValueError, match="spacing"):
        critical.sinusoid_targets(x, 5, 0.0)
    with pytest.raises(ValueError, match="n_levels"):
        critical.sinusoid_targets(x, 0, spacing)


def test_masks_and_standardise():
    masks = critical.train_masks(10, 3, 0.5)
    assert masks.shape == (3, 10) and np.all(masks.sum(axis=1) == 5)
    always = critical.train_masks(10, 4, 0.3, always=[0, 9])
    assert np.all(always[:, [0, 9]]) and np.all(always.sum(axis=1) == 3)
    with pytest.raises(ValueError, match="always must name"):
        critical.train_masks(10, 1, 0.1, always=[0, 9])
    with pytest.raises(ValueError, match="no training or no held-out"):
        critical.train_masks(10, 3, 0.99)
    with pytest.raises(ValueError, match="constant"):
        critical.standardise(np.ones(4))
    assert critical.random_label_target(50).shape == (50,)


def test_pretraining_then_finetuning_fits_both_targets(env):
    x = tabular.encode_states(env, "coordinates")
    _, v = critical.standardised_value_problem(env.P, env.R, 0.9)
    rough = critical.random_label_target(env.n_states)
    mask = critical.train_masks(env.n_states, 2, 0.5)
    run = critical.make_pretrain_finetune(x, 32, 1e-2, (0, 300), 300)
    seeds = jax.random.split(jax.random.PRNGKey(0), 2)
    pretrained, finetuned = map(np.asarray, jax.vmap(run, in_axes=(0, None, None, 0))(seeds, rough, v, mask))
    assert pretrained.shape == finetuned.shape == (2, 2, 16)
    error = lambda f, y: np.asarray(critical.masked_mse(f, y, mask[:, None, :]))
    # Pre-training reduces the error on its target; fine-tuning fits V^π on the training states.
    assert np.all(error(pretrained, rough)[:, 1] < 0.5 * error(pretrained, rough)[:, 0])
    assert np.all(error(finetuned, v) < 0.05)


def test_gathering_the_training_states_gives_the_same_fit(env):
    x = tabular.encode_states(env, "coordinates")
    _, v = critical.standardised_value_problem(env.P, env.R, 0.9)
    rough = critical.random_label_target(env.n_states)
    mask = critical.train_masks(env.n_states, 3, 0.5)
    seeds = jax.random.split(jax.random.PRNGKey(1), 3)
    outputs = []
    for n_train in (None, 8):
        run = critical.make_pretrain_finetune(x, 16, 1e-2, (0, 5), 5, n_train=n_train)
        outputs.append(np.asarray(jax.vmap(run, in_axes=(0, None, None, 0))(seeds, rough, v, mask)[1]))
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)
    # A mask with another number of training states gives NaN, not a fit to the wrong states.
    run = critical.make_pretrain_finetune(x, 16, 1e-2, (0,), 1, n_train=7)
    assert np.all(np.isnan(np.asarray(run(seeds[0], rough, v, mask[0])[1])))
    with pytest.raises(ValueError, match="n_train"):
        critical.make_pretrain_finetune(x, 16, 1e-2, (0,), 1, n_train=17)


def test_bad_schedules_and_shapes_are_named(env):
    x = tabular.encode_states(env, "coordinates")
    with pytest.raises(ValueError, match="non-decreasing"):
        critical.make_pretrain_finetune(x, 4, 1e-2, (10, 5), 5)
    with pytest.raises(ValueError, match="finetune_steps"):
        critical.make_pretrain_finetune(x, 4, 1e-2, (0,), 0)
    run = critical.make_pretrain_finetune(x, 4, 1e-2, (0,), 1)
    with pytest.raises(ValueError, match="pretrain_target must have shape"):
        run(jax.random.PRNGKey(0), np.zeros(3), np.zeros(16), np.ones(16, bool))


@pytest.mark.parametrize("target", ["td", "mc"])
def test_value_fit_learns_the_training_states(env, target):
    R, v = critical.standardised_value_problem(env.P, env.R, 0.5)
    x = tabular.encode_states(env, "coordinates")
    mask = critical.train_masks(env.n_states, 2, 0.75)
    fit = critical.make_value_fit(x, env.P, R, 0.5, target, 32, 1e-2, 400)
    values = np.asarray(jax.vmap(fit)(jax.random.split(jax.random.PRNGKey(0), 2), mask))
    assert values.shape == (2, 16)
    assert np.all(np.asarray(critical.masked_mse(values, v, mask)) < 0.1)
    with pytest.raises(ValueError, match="unknown target"):
        critical.make_value_fit(x, env.P, R, 0.5, "sarsa", 4, 1e-2, 10)


def _toy_rollout():
    """Two trajectories of 8 steps; obs[t, n] = 10 t + n, so frames can be identified."""
    reward = np.array([[1, 0, 0, 2, 0, 1, 0, 0], [0, 1, 1, 0, 0, 0, 3, 0]], dtype=np.float32).T
    done = np.array([[0, 0, 1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0, 1]], dtype=bool).T
    obs = (10 * np.arange(8)[:, None] + np.arange(2)[None, :]).astype(np.float32)[..., None]
    return {"obs": obs, "reward": reward, "done": done}


def test_interleaved_frames_split_trajectories_into_training_and_held_out_frames():
    from tdgen.rl.td import discounted_returns

    rollout, gamma, k = _toy_rollout(), 0.5, 3
    train, held = critical.interleaved_frames(rollout, gamma, stride=k)
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
        critical.interleaved_frames(rollout, gamma, stride=1)
    with pytest.raises(ValueError, match="no transition"):
        critical.interleaved_frames(rollout, gamma, stride=8)


def test_random_projection_and_its_sinusoids():
    x = np.eye(6).reshape(6, 3, 2)  # one-hot frames: their projections are the direction's entries
    w = critical.random_projection(x, seed=1)
    np.testing.assert_allclose(np.sum(w**2), 1.0)
    np.testing.assert_array_equal(critical.random_projection(x[::-1], seed=1), w[::-1])
    assert not np.allclose(critical.random_projection(x, seed=2), w)
    u = np.linspace(-2, 2, 50)
    omegas = np.array([0.5, 2.0, 8.0])
    g = critical.projection_sinusoids(u, omegas, seed=3)
    assert g.shape == (3, 50)
    np.testing.assert_allclose(g.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(g.std(axis=1), 1.0)
    for omega, row in zip(omegas, g):  # an affine image of a sin(ωu) + b cos(ωu)
        basis = np.stack([np.sin(omega * u), np.cos(omega * u), np.ones_like(u)], axis=1)
        np.testing.assert_allclose(basis @ np.linalg.lstsq(basis, row, rcond=None)[0], row, atol=1e-9)
    assert np.all(np.diff(np.abs(np.diff(g, axis=1)).mean(axis=1)) > 0)  # faster, rougher along u
    with pytest.raises(ValueError, match="omegas"):
        critical.projection_sinusoids(u, np.array([]))


def test_normalised_mse():
    g = np.array([[1.0, 2.0, 3.0, 6.0]])
    np.testing.assert_allclose(critical.normalised_mse(g, g), [0.0])
    np.testing.assert_allclose(critical.normalised_mse(np.full_like(g, g.mean()), g), [1.0])


def test_deep_value_fits_share_initialisation_and_minibatches():

    from tdgen.envs import make_env
    from tdgen.rl.networks import QNetwork

    env = make_env("Breakout-MinAtar", 4)
    actor = QNetwork(env.num_actions)
    play = rollouts.rollout(
        env,
        policies.epsilon_greedy(actor.apply, 1.0),
        actor.init(jax.random.PRNGKey(0), env.reset(jax.random.PRNGKey(1))[0]),
        120,
        jax.random.PRNGKey(2),
    )
    train, held = critical.interleaved_frames(play, 0.9, stride=3)
    assert train["obs"].shape[0] > 10 and held["obs"].shape[0] > train["obs"].shape[0]
    net = QNetwork(1)
    params = net.init(jax.random.PRNGKey(3), train["obs"][:1])
    u = critical.random_projection(train["obs"])
    targets = critical.projection_sinusoids((u - u.mean()) / u.std(), [1.0, 8.0]).astype(np.float32)
    run = critical.make_deep_value_fits(net.apply, 0.9, 3, 40, 30, 16, 1e-3, 10)
    rng = jax.random.PRNGKey(4)
    td, pretrained, finetuned = run(rng, params, train, targets)
    assert all(leaf.shape[0] == 2 for leaf in jax.tree.leaves(pretrained))
    assert all(leaf.shape[0] == 3 for leaf in jax.tree.leaves(finetuned))
    # The TD arm and the from-scratch arm are offline fits from the same keys, γ^3 for TD.
    fit_key, _ = jax.random.split(rng)
    for kind, got in (("td", td), ("mc", jax.tree.map(lambda p: p[0], finetuned))):
        want = jax.jit(offline.make_offline_fit(net.apply, kind, 0.9**3, 40, 16, 1e-3, 10, 1))(fit_key, params, train)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(a, b[-1], rtol=1e-4, atol=1e-5)
    # Pre-training moves the network towards its target.
    before = critical.normalised_mse(np.asarray(net.apply(params, train["obs"])[:, 0]), targets[0])
    after = critical.normalised_mse(
        np.asarray(net.apply(jax.tree.map(lambda p: p[0], pretrained), train["obs"])[:, 0]), targets[0]
    )
    assert after < before
    with pytest.raises(ValueError, match="pretrain_targets"):
        run(rng, params, train, targets[:, :5])


# ---------------------------------------------------------------------------------------
# The notebook's pipeline: grid problems, the sweep, TD against MC, the deep-RL dataset.
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_budget():
    return dataclasses.replace(
        get_profile("smoke").critical,
        seeds=2,
        hidden=8,
        pretrain_steps=8,
        pretrain_lengths=2,
        finetune_steps=6,
        value_steps=6,
        deep_pretrain_steps=4,
        deep_steps=6,
        deep_batch_size=8,
        deep_target_every=2,
    )


@pytest.fixture(scope="module")
def problem(env):
    return critical.grid_problem(env, 0.9, 2, 3, 0.5)


def test_grid_problem_prepares_targets_energies_and_splits(env, problem):
    p = problem
    assert p.x.shape == (16, 2) and p.targets.shape == (5, 16) and p.energy.shape == (5,)
    assert p.family.tolist() == ["eigenvectors"] * 2 + ["sinusoids"] * 2 + ["random labels"]
    assert len(p.labels) == 5 and p.labels[0].startswith("eigenvector λ = ") and p.labels[-1] == "random labels"
    np.testing.assert_allclose(p.targets.std(axis=1), 1.0)
    # An eigenvector's energy is 1 − λ whatever its scale and offset (it is μ-orthogonal to constants).
    eig = spectral.eigendecomposition(env.P)
    ranks, _ = critical.eigenvector_targets(eig, 2)
    np.testing.assert_allclose(p.energy[:2], 1 - eig.values[ranks].real, atol=1e-10)
    np.testing.assert_allclose(p.energy_v, spectral.dirichlet_energy(spectral.centre(p.v_std, p.mu), env.P, p.mu))
    assert p.roughest == int(np.argmax(p.energy))
    assert p.masks.shape == (3, 16) and np.all(p.masks[:, np.flatnonzero(env.R)])
    np.testing.assert_array_equal(p.held_out, ~p.masks)
    np.testing.assert_allclose(tabular.value_function(env.P, p.R_std, 0.9), p.v_std, atol=1e-10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.gamma = 0.5
    table = critical.energy_table(p, "room").splitlines()
    assert len(table) == 5 + 3 and table[0].startswith(f"room ({env.name}): 16 states, 8 training / 8 held-out")
    assert table[-1] == f"  roughest pre-training target: {p.labels[p.roughest]}"


def test_pretrain_sweep_maps_seeds_to_their_masks_and_targets(problem, small_budget):
    p, b = problem, small_budget
    seeds = jax.random.split(jax.random.PRNGKey(0), 3)
    sweep = critical.pretrain_sweep(p, seeds, b)
    S, K, L, n = 3, 5, 2, 16
    assert sweep.finetuned.shape == (S, K, L, n) and sweep.scratch.shape == (S, n)
    for a in (sweep.pretrain_error, sweep.train_error, sweep.test_error):
        assert a.shape == (S, K, L)
    assert sweep.scratch_train.shape == sweep.scratch_test.shape == (S,)
    # Seed 1, target 2 and the scratch network, run on their own.
    run = critical.make_pretrain_finetune(p.x, b.hidden, b.learning_rate, b.pretrain_schedule, b.finetune_steps)
    pretrained, finetuned = map(np.asarray, run(seeds[1], p.targets[2], p.v_std, p.masks[1]))
    np.testing.assert_allclose(sweep.finetuned[1, 2], finetuned, atol=1e-5)
    want = np.asarray(critical.masked_mse(pretrained, p.targets[2], p.masks[1]))
    np.testing.assert_allclose(sweep.pretrain_error[1, 2], want, rtol=1e-4)
    np.testing.assert_allclose(
        sweep.test_error[1, 2], np.asarray(critical.masked_mse(finetuned, p.v_std, ~p.masks[1])), rtol=1e-4
    )
    scratch = critical.make_pretrain_finetune(p.x, b.hidden, b.learning_rate, (0,), b.finetune_steps)
    np.testing.assert_allclose(
        sweep.scratch[1], np.asarray(scratch(seeds[1], p.v_std, p.v_std, p.masks[1])[1][0]), atol=1e-5
    )
    np.testing.assert_allclose(
        sweep.scratch_test, np.asarray(critical.masked_mse(sweep.scratch, p.v_std, p.held_out)), rtol=1e-6
    )
    table = critical.sweep_table(p, sweep, b.pretrain_schedule).splitlines()
    assert len(table) == 2 + K * L and table[1].startswith("(from scratch)")


def test_value_fits_run_td_and_mc_on_each_seed(env, problem, small_budget):
    p, b = problem, small_budget
    seeds = jax.random.split(jax.random.PRNGKey(1), 3)
    fits = critical.value_fits(p, seeds, b)
    for target in ("td", "mc"):
        assert fits.values[target].shape == (3, 16)
        fit = critical.make_value_fit(p.x, env.P, p.R_std, 0.9, target, b.hidden, b.learning_rate, b.value_steps)
        np.testing.assert_allclose(fits.values[target][2], np.asarray(fit(seeds[2], p.masks[2])), atol=1e-5)
        v = fits.values[target]
        np.testing.assert_allclose(fits.test_error[target], np.asarray(critical.masked_mse(v, p.v_std, p.held_out)))
        np.testing.assert_allclose(fits.train_error[target], np.asarray(critical.masked_mse(v, p.v_std, p.masks)))
        np.testing.assert_allclose(
            fits.energy[target], spectral.dirichlet_energy(spectral.centre(v, p.mu), env.P, p.mu)
        )
    assert not np.allclose(fits.values["td"], fits.values["mc"])
    table = critical.value_fit_table(p, fits).splitlines()
    assert [line[:4] for line in table] == ["TD: ", "MC: "] and table[0].endswith(f"(V^π: {p.energy_v:.3f})")


def test_stack_frames_cuts_every_part_to_n():
    parts = [{"obs": np.arange(5)[:, None] + 10 * i, "g": np.arange(5) * i} for i in range(3)]
    parts[1] = {k: v[:4] for k, v in parts[1].items()}
    stacked = critical.stack_frames(parts, 4)
    assert stacked["obs"].shape == (3, 4, 1) and stacked["g"].shape == (3, 4)
    np.testing.assert_array_equal(stacked["obs"][2, :, 0], [20, 21, 22, 23])
    with pytest.raises(ValueError, match="at least 5 frames"):
        critical.stack_frames(parts, 5)


def test_standardised_projection_shares_the_training_frames_scale():
    rng = np.random.default_rng(0)
    play_obs = (rng.random((2, 10, 3, 4, 2)) < 0.3).astype(np.float32)  # [S, T, N, 4, 2]
    train_obs = play_obs[:, ::2, 0]  # [S, 5, 4, 2]: frames of the play
    u, along = critical.standardised_projection(train_obs, play_obs)
    assert u.shape == (2, 5) and along.shape == (2, 10, 3)
    np.testing.assert_allclose(u.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(u.std(axis=1), 1.0)
    # Same direction and scale, not centred: u and the play's projection differ by a constant per seed.
    offset = along[:, ::2, 0] - u
    np.testing.assert_allclose(offset, offset[:, :1].repeat(5, axis=1), atol=1e-12)


def test_frequency_range_runs_from_half_a_period_to_nyquist():
    u = np.array([[0.0, 1.0, 2.0], [-2.0, 0.0, 2.0], [0.0, 3.0, 6.0]])  # ranges 2, 4, 6
    along = 0.5 * np.arange(7.0)[None, :, None] * np.ones((3, 1, 2))  # steps of 0.5
    omegas, span, spacing = critical.frequency_range(u, along, 4)
    assert (span, spacing) == (4.0, 0.5)
    np.testing.assert_allclose(omegas, np.geomspace(np.pi / 4, 2 * np.pi, 4))
    np.testing.assert_allclose(omegas[1:] / omegas[:-1], 2.0)


def test_frame_data_splits_each_seed_and_cuts_to_the_smallest():
    one = _toy_rollout()
    other = {**one, "done": np.zeros_like(one["done"])}
    other["done"][4] = True  # seed 1: both episodes end at t = 4, fewer finished frames
    play = {k: np.stack([one[k], other[k]]) for k in one}
    data = critical.frame_data(play, 0.5, 3, 3)
    splits = [critical.interleaved_frames(r, 0.5, 3) for r in (one, other)]
    sizes = [[t["obs"].shape[0], h["obs"].shape[0]] for t, h in splits]
    np.testing.assert_array_equal(data.sizes, sizes)
    d, h = np.min(sizes, axis=0)
    assert data.train["obs"].shape == (2, d, 1) and data.held["mc_return"].shape == (2, h)
    for s, (train, held) in enumerate(splits):
        np.testing.assert_array_equal(data.train["reward"][s], train["reward"][:d])
        np.testing.assert_array_equal(data.held["obs"][s], held["obs"][:h])
    assert data.targets.shape == (2, 3, d) and data.targets.dtype == np.float32
    u, along = critical.standardised_projection(data.train["obs"], play["obs"])
    np.testing.assert_array_equal(data.omegas, critical.frequency_range(u, along, 3)[0])
    np.testing.assert_allclose(data.targets[1], critical.projection_sinusoids(u[1], data.omegas), rtol=1e-6)
    table = critical.frame_table(data).splitlines()
    assert len(table) == 3 and table[0].endswith(f"cut to {d} and {h}")


@pytest.fixture(scope="module")
def breakout_play():
    from tdgen.envs import make_env
    from tdgen.rl.networks import QNetwork

    env = make_env("Breakout-MinAtar", 4)
    actor = QNetwork(env.num_actions)
    obs = env.reset(jax.random.PRNGKey(1))[0]
    agents = jax.vmap(actor.init, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(0), 2), obs)  # 2 agents
    return env, actor, agents, critical.agent_play(env, actor.apply, agents, 3, 0.5, 60, jax.random.PRNGKey(5))


def test_agent_play_gives_each_seed_an_agent_and_its_own_keys(breakout_play):
    env, actor, agents, play = breakout_play
    assert play["obs"].shape[:3] == (3, 60, 4) and play["reward"].shape == play["done"].shape == (3, 60, 4)
    assert isinstance(play["obs"], np.ndarray)
    # Seed 2 plays agent 2 mod 2 = 0 with key 2.
    key = jax.random.split(jax.random.PRNGKey(5), 3)[2]
    params = jax.tree.map(lambda p: p[0], agents)
    want = rollouts.rollout(env, policies.epsilon_greedy(actor.apply, 0.5), params, 60, key)
    np.testing.assert_array_equal(play["obs"][2], np.asarray(want["obs"]))
    np.testing.assert_array_equal(play["action"][2], np.asarray(want["action"]))
    assert not np.array_equal(play["action"][0], play["action"][2])


def test_deep_value_fits_and_their_errors(breakout_play, small_budget):
    from tdgen.rl.networks import QNetwork

    _, _, _, play = breakout_play
    data = critical.frame_data(play, 0.9, 3, 2)
    net, rng = QNetwork(1), jax.random.PRNGKey(7)
    fits = critical.deep_value_fits(net, data, small_budget, 3, rng)
    assert all(leaf.shape[0] == 3 for leaf in jax.tree.leaves(fits.td))
    assert all(leaf.shape[:2] == (3, 2) for leaf in jax.tree.leaves(fits.pretrained))
    assert all(leaf.shape[:2] == (3, 3) for leaf in jax.tree.leaves(fits.finetuned))
    # Seed 1 on its own: initialised with key 1 of the first row, fitted with key 1 of the second.
    init_keys, fit_keys = jax.random.split(rng, (2, 3))
    seed1 = jax.tree.map(lambda a: a[1], data.train)
    params = net.init(init_keys[1], seed1["obs"][:1])
    b = small_budget
    run = critical.make_deep_value_fits(
        net.apply, b.gamma, 3, b.deep_steps, b.deep_pretrain_steps, b.deep_batch_size, b.deep_learning_rate, 2
    )
    td, _, finetuned = run(fit_keys[1], params, seed1, data.targets[1])
    for got, want in ((fits.td, td), (fits.finetuned, finetuned)):
        for a, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(a[1], w, rtol=1e-4, atol=1e-6)

    errors = critical.deep_errors(net.apply, data, fits)
    for part in (errors.held, errors.train):
        assert part["td"].shape == part["mc"].shape == (3,) and part["pre"].shape == (3, 2)
    assert errors.pretrain.shape == (3, 2)
    mc = jax.tree.map(lambda p: p[1, 0], fits.finetuned)
    held_values = np.asarray(net.apply(mc, data.held["obs"][1])[:, 0])
    np.testing.assert_allclose(
        errors.held["mc"][1], critical.normalised_mse(held_values, data.held["mc_return"][1]), rtol=1e-5
    )
    pre = jax.tree.map(lambda p: p[2, 1], fits.pretrained)
    pre_values = np.asarray(net.apply(pre, data.train["obs"][2])[:, 0])
    np.testing.assert_allclose(
        errors.pretrain[2, 1], critical.normalised_mse(pre_values, data.targets[2, 1]), rtol=1e-5
    )
    table = critical.deep_error_table(data.omegas, errors).splitlines()
    assert len(table) == 1 + 2 + 2 and table[1].startswith("TD")

    trajectory = critical.trajectory_values(play, 0.9, net.apply, fits, 30)
    assert all(trajectory[k].shape == (30,) for k in ("t", "G", "td", "mc"))
    _, finished = map(np.asarray, discounted_returns(play["reward"][0], play["done"][0], 0.9))
    np.testing.assert_array_equal(np.isnan(trajectory["G"]), ~finished[:30, 0])
    td0 = jax.tree.map(lambda p: p[0], fits.td)
    np.testing.assert_allclose(trajectory["td"], np.asarray(net.apply(td0, play["obs"][0, :30, 0])[:, 0]), rtol=1e-5)
