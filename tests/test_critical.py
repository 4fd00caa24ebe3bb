"""Claim 3 helpers: targets, masks, pre-training then fine-tuning, TD against Monte Carlo fits."""

import jax
import numpy as np
import pytest

from tdgen import critical, mdp, nn, spectral


@pytest.fixture(scope="module")
def env():
    return mdp.open_grid(4, rewards={(0, 0): 1.0, (3, 2): -1.0})


def test_standardised_value_problem_keeps_the_bellman_equation(env):
    R, v = critical.standardised_value_problem(env.P, env.R, 0.9)
    np.testing.assert_allclose(v.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(v.std(), 1.0)
    np.testing.assert_allclose(mdp.value_function(env.P, R, 0.9), v, atol=1e-10)
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
    with pytest.raises(mdp.InvalidMDPError, match="real eigenvectors"):
        critical.eigenvector_targets(spectral.eigendecomposition(mdp.ring(5, p_right=0.8).P), 2)


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
    x = nn.encode_states(env, "coordinates")
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


def test_bad_schedules_and_shapes_are_named(env):
    x = nn.encode_states(env, "coordinates")
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
    x = nn.encode_states(env, "coordinates")
    mask = critical.train_masks(env.n_states, 2, 0.75)
    fit = critical.make_value_fit(x, env.P, R, 0.5, target, 32, 1e-2, 400)
    values = np.asarray(jax.vmap(fit)(jax.random.split(jax.random.PRNGKey(0), 2), mask))
    assert values.shape == (2, 16)
    assert np.all(np.asarray(critical.masked_mse(values, v, mask)) < 0.1)
    with pytest.raises(ValueError, match="unknown target"):
        critical.make_value_fit(x, env.P, R, 0.5, "sarsa", 4, 1e-2, 10)
