"""Claim 3 on gridworlds: targets, masks, pre-training then fine-tuning, TD against its twin and Monte Carlo."""

import dataclasses

import jax
import numpy as np
import pytest

from tdgen import critical, spectral
from tdgen.envs import tabular
from tdgen.profiles import get_profile


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


def test_regression_fit_is_the_monte_carlo_arm_with_any_target(env):
    R, v = critical.standardised_value_problem(env.P, env.R, 0.5)
    x = tabular.encode_states(env, "coordinates")
    mask = critical.train_masks(env.n_states, 2, 0.5)
    seeds = jax.random.split(jax.random.PRNGKey(3), 2)
    regress = jax.vmap(critical.make_regression_fit(x, 16, 1e-2, 30))
    mc = jax.vmap(critical.make_value_fit(x, env.P, R, 0.5, "mc", 16, 1e-2, 30))
    # Regression on V^π is the Monte Carlo arm, step for step.
    np.testing.assert_allclose(regress(seeds, mask, np.tile(v, (2, 1))), mc(seeds, mask), atol=1e-6)
    # Any target: only the masked states are regressed onto it, so the held-out targets do not matter.
    y = np.asarray(critical.random_label_target(env.n_states, seed=1), dtype=np.float32)
    y_other = np.where(mask, y, 100.0)
    np.testing.assert_allclose(regress(seeds, mask, np.tile(y, (2, 1))), regress(seeds, mask, y_other), atol=1e-6)
    fitted = critical.make_regression_fit(x, 32, 1e-2, 400)(seeds[0], mask[0], y)
    assert float(critical.masked_mse(fitted, y, mask[0])) < 0.05
    with pytest.raises(ValueError, match="n_steps"):
        critical.make_regression_fit(x, 4, 1e-2, 0)


def test_bellman_residual_is_zero_at_the_fixed_point_and_squares_the_td_error(env):
    R, v = critical.standardised_value_problem(env.P, env.R, 0.9)
    mask = critical.train_masks(env.n_states, 3, 0.5)
    np.testing.assert_allclose(critical.bellman_residual(np.tile(v, (3, 1)), env.P, R, 0.9, mask), 0.0, atol=1e-10)
    f = np.random.default_rng(0).standard_normal((3, env.n_states))
    want = [np.mean((f[i] - R - 0.9 * env.P @ f[i])[mask[i]] ** 2) for i in range(3)]
    np.testing.assert_allclose(critical.bellman_residual(f, env.P, R, 0.9, mask), want, rtol=1e-5)
    # V^π plus 1 on the held-out states only: the residual at a training state s is −γ P(s, held out).
    g = v + np.where(mask[0], 0.0, 1.0)
    want = np.mean((0.9 * env.P @ (~mask[0]))[mask[0]] ** 2)
    assert want > 0
    np.testing.assert_allclose(critical.bellman_residual(g, env.P, R, 0.9, mask[0]), want, rtol=1e-5)


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


def test_value_fits_run_td_its_twin_and_mc_on_each_seed(env, problem, small_budget):
    p, b = problem, small_budget
    seeds = jax.random.split(jax.random.PRNGKey(1), 3)
    fits = critical.value_fits(p, seeds, b)
    for target in ("td", "mc"):
        fit = critical.make_value_fit(p.x, env.P, p.R_std, 0.9, target, b.hidden, b.learning_rate, b.value_steps)
        np.testing.assert_allclose(fits.values[target][2], np.asarray(fit(seeds[2], p.masks[2])), atol=1e-5)
    # The twin: regression from the same initialisation and budget on TD's own outputs.
    regress = critical.make_regression_fit(p.x, b.hidden, b.learning_rate, b.value_steps)
    np.testing.assert_allclose(
        fits.values["twin"][1], np.asarray(regress(seeds[1], p.masks[1], fits.values["td"][1])), atol=1e-5
    )
    for arm in critical.ARMS:
        v = fits.values[arm]
        assert v.shape == (3, 16)
        np.testing.assert_allclose(fits.test_error[arm], np.asarray(critical.masked_mse(v, p.v_std, p.held_out)))
        np.testing.assert_allclose(fits.train_error[arm], np.asarray(critical.masked_mse(v, p.v_std, p.masks)))
        np.testing.assert_allclose(fits.bellman[arm], critical.bellman_residual(v, env.P, p.R_std, 0.9, p.masks))
        np.testing.assert_allclose(
            fits.energy[arm], spectral.dirichlet_energy(spectral.centre(v, p.mu), env.P, p.mu), rtol=1e-6
        )
    diff = (fits.values["td"] - fits.values["twin"]) ** 2
    np.testing.assert_allclose(fits.twin_fit, [d[m].mean() for d, m in zip(diff, p.masks)], rtol=1e-5)
    np.testing.assert_allclose(fits.disagreement, [d[~m].mean() for d, m in zip(diff, p.masks)], rtol=1e-5)
    assert not np.allclose(fits.values["td"], fits.values["mc"])
    table = critical.value_fit_table(p, fits).splitlines()
    assert [line.split()[0] for line in table[1:4]] == ["TD", "twin", "Monte"]
    assert table[-1].startswith(f"V^π: energy {p.energy_v:.3f}")
