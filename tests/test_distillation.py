import ctypes.util
import dataclasses
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen import distillation, interference
from tdgen.envs import level_split, make_env
from tdgen.profiles import get_profile
from tdgen.rl import policies, rollouts
from tdgen.rl.networks import ActorCritic, QNetwork


def test_first_episode_returns_stops_at_the_first_end():
    reward = jnp.array([[1.0, 1.0], [2.0, 1.0], [4.0, 1.0], [8.0, 1.0]])
    done = jnp.array([[False, False], [True, False], [False, False], [True, False]])
    # env 0: episode ends at step 1 -> 1 + 2; env 1 never ends -> everything so far
    np.testing.assert_allclose(rollouts.first_episode_returns(reward, done), [3.0, 4.0])


def test_first_episode_returns_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[T, N\]"):
        rollouts.first_episode_returns(jnp.zeros((3, 2)), jnp.zeros((3, 3), bool))


def test_bit_flip_extremes_and_rate():
    obs = jax.random.bernoulli(jax.random.PRNGKey(0), 0.3, (2000, 4)).astype(jnp.uint8)
    key = jax.random.PRNGKey(1)
    np.testing.assert_array_equal(distillation.bit_flip(key, obs, 0.0), obs)
    np.testing.assert_array_equal(distillation.bit_flip(key, obs, 1.0), 1 - obs)
    flipped = distillation.bit_flip(key, obs, 0.1)
    assert flipped.dtype == obs.dtype
    assert abs(float((flipped != obs).mean()) - 0.1) < 0.01


def test_interpolation_paths_end_at_the_states():
    a = jnp.zeros((3, 2, 2, 1), jnp.uint8)
    b = jnp.ones((3, 2, 2, 1), jnp.uint8)
    paths = distillation.interpolation_paths(a, b, 5)
    assert paths.shape == (3, 5, 2, 2, 1)
    np.testing.assert_allclose(paths[:, 0], a)
    np.testing.assert_allclose(paths[:, -1], b)
    np.testing.assert_allclose(paths[0, :, 0, 0, 0], [0.0, 0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="same shape"):
        distillation.interpolation_paths(a, b[:2], 5)


def test_path_statistics_of_a_linear_q_function():
    # Q(x) = (s, 1 − s) with s the input's sum: along a path from 0 to 1 the greedy
    # action switches once and every Q changes monotonically (variation ratio 1).
    apply = lambda params, x: jnp.stack([x.sum((1, 2, 3)), 1.0 - x.sum((1, 2, 3))], -1) * params
    paths = distillation.interpolation_paths(jnp.zeros((1, 1, 1, 1)), jnp.ones((1, 1, 1, 1)), 9)
    out = distillation.path_statistics(apply, 1.0, paths)
    assert int(out["switches"][0]) == 1
    np.testing.assert_allclose(out["variation_ratio"], [1.0], rtol=1e-6)


def test_losses_are_zero_at_the_teacher_and_positive_elsewhere():
    q = jnp.array([[1.0, 2.0], [0.5, -1.0]])
    assert float(distillation.q_regression_loss(q, q)) == 0.0
    np.testing.assert_allclose(distillation.q_regression_loss(q + 1.0, q), 0.5)
    logits, value = jnp.array([[0.0, 1.0, 2.0]]), jnp.array([0.3])
    assert abs(float(distillation.policy_distillation_loss((logits, value), (logits, value)))) < 1e-7
    assert float(distillation.policy_distillation_loss((jnp.zeros((1, 3)), value), (logits, value))) > 0.0
    with pytest.raises(ValueError, match="shape"):
        distillation.q_regression_loss(q, q[:1])


def test_value_distillation_fits_the_teachers_q_values():
    env = make_env("Breakout-MinAtar", 8)
    net = QNetwork(env.num_actions)
    teacher = net.init(jax.random.PRNGKey(0), env.reset(jax.random.PRNGKey(1))[0])
    policy = policies.epsilon_greedy(net.apply, 0.5)
    out = rollouts.rollout(env, policy, teacher, 16, jax.random.PRNGKey(2))
    assert out["obs"].shape == (16, 8, *env.observation_shape)
    states = out["obs"].reshape((-1, *env.observation_shape))
    targets = net.apply(teacher, states)
    student = net.init(jax.random.PRNGKey(3), states[:1])
    run = jax.jit(distillation.make_distill(net.apply, distillation.q_regression_loss, 300, 32, 1e-3))
    fitted, losses = run(jax.random.PRNGKey(4), student, states, targets)
    assert losses.shape == (300,)
    before = float(distillation.q_regression_loss(net.apply(student, states), targets))
    after = float(distillation.q_regression_loss(net.apply(fitted, states), targets))
    assert after < 0.1 * before


def test_policy_distillation_lowers_the_kl_and_checks_targets():
    obs = jax.random.bernoulli(jax.random.PRNGKey(0), 0.3, (64, 5, 5, 7)).astype(jnp.uint8)
    net = ActorCritic(3)
    teacher = net.init(jax.random.PRNGKey(1), obs[:1])
    logits, value = net.apply(teacher, obs)
    targets = (300.0 * logits, value)  # a confident teacher, far from a fresh network's near-uniform policy
    student = net.init(jax.random.PRNGKey(2), obs[:1])
    run = distillation.make_distill(net.apply, distillation.policy_distillation_loss, 200, 16, 3e-3)
    fitted, _ = jax.jit(run)(jax.random.PRNGKey(3), student, obs, targets)
    before = distillation.policy_distillation_loss(net.apply(student, obs), targets)
    after = distillation.policy_distillation_loss(net.apply(fitted, obs), targets)
    assert float(after) < 0.5 * float(before)
    with pytest.raises(ValueError, match="leading size"):
        run(jax.random.PRNGKey(3), student, obs, jax.tree.map(lambda x: x[:10], targets))


def test_policies_and_agreement():
    obs = jnp.zeros((6, 10, 10, 4), jnp.uint8)
    q_apply = lambda params, x: jnp.tile(jnp.array([0.0, 1.0, 0.5]), (x.shape[0], 1))
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(policies.epsilon_greedy(q_apply, 0.0)(None, key, obs), 1)
    assert float(distillation.action_agreement(q_apply, None, obs, key, 0.5)) == 1.0  # constant Q: noise is moot
    ac_apply = lambda params, x: (jnp.tile(jnp.array([0.0, 3.0, 0.0]), (x.shape[0], 1)), jnp.zeros(x.shape[0]))
    np.testing.assert_array_equal(policies.softmax_policy(ac_apply, greedy=True)(None, key, obs), 1)
    with pytest.raises(ValueError, match="epsilon"):
        policies.epsilon_greedy(q_apply, 1.5)


def test_pixel_noise_keeps_uint8_range_and_scales_with_sigma():
    obs = jnp.full((2000,), 128, jnp.uint8)
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(distillation.pixel_noise(key, obs, 0.0), obs)
    noisy = distillation.pixel_noise(key, obs, 0.1)
    assert noisy.dtype == jnp.uint8
    assert abs(float(noisy.astype(jnp.float32).std()) - 25.5) < 2.0  # σ = 0.1 of 255
    saturated = distillation.pixel_noise(key, jnp.full((100,), 250, jnp.uint8), 1.0)
    assert int(saturated.max()) <= 255 and int(saturated.min()) >= 0


def test_observation_noise_fits_the_observations():
    assert distillation.observation_noise("Breakout-MinAtar")[0] is distillation.bit_flip
    assert distillation.observation_noise("atari:Breakout-v5")[0] is distillation.pixel_noise


def test_distillation_and_returns_in_sequence_match_their_vmapped_form():
    """``vmappable=False`` (one envpool pool) plays network after network; on a JAX env that gives the same numbers."""
    env = make_env("Breakout-MinAtar", 4)
    one_pool = dataclasses.replace(env, vmappable=False)
    net = ActorCritic(env.num_actions)
    obs, _ = env.reset(jax.random.PRNGKey(0))
    teachers = jax.vmap(lambda k: net.init(k, obs))(jax.random.split(jax.random.PRNGKey(1), 2))
    args = (policies.softmax_policy(net.apply), 8, 2, distillation.policy_distillation_loss, 5, 8, 1e-3)
    runs = {
        e.vmappable: distillation.distill_teachers(net, teachers, args[0], e, *args[1:], jax.random.PRNGKey(2))
        for e in (env, one_pool)
    }
    assert runs[True][0]["params"]["Dense_0"]["kernel"].shape[:2] == (2, 3)  # [teachers, 1 + students]
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), runs[True], runs[False])
    returns = [
        rollouts.actor_critic_returns(net.apply, runs[True][0], e, 20, jax.random.PRNGKey(3)) for e in (env, one_pool)
    ]
    assert returns[0].shape == (2, 3, 2)
    np.testing.assert_allclose(returns[0], returns[1], rtol=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("envpool") is None, reason="envpool is not installed")
@pytest.mark.skipif(ctypes.util.find_library("Qt5Gui") is None, reason="the Qt5 runtime (libqt5gui5) is not installed")
def test_policy_distillation_on_procgen_plays_one_pool_network_after_network():
    train, unseen, steps = level_split("procgen:coinrun", 2, 5)
    assert steps == 1000 and unseen.endswith("num_levels=5&start_level=1000000")
    env = make_env(train, 2)
    assert not env.vmappable and env.observation_shape == (64, 64, 3)
    net = ActorCritic(env.num_actions)
    obs, _ = env.reset(jax.random.PRNGKey(0))
    teachers = jax.vmap(lambda k: net.init(k, obs))(jax.random.split(jax.random.PRNGKey(1), 2))
    networks, states, losses = distillation.distill_teachers(
        net,
        teachers,
        policies.softmax_policy(net.apply),
        env,
        6,
        2,
        distillation.policy_distillation_loss,
        3,
        4,
        1e-3,
        jax.random.PRNGKey(2),
    )
    assert states.shape == (2, 12, 64, 64, 3) and losses.shape == (2, 2, 3)
    returns = rollouts.actor_critic_returns(net.apply, networks, make_env(unseen, 2), 5, jax.random.PRNGKey(3))
    assert returns.shape == (2, 3, 2) and np.isfinite(np.asarray(returns)).all()


@pytest.fixture(scope="module")
def q_row():
    """Two teachers, each with two networks (itself and a perturbed copy): leaves ``[2, 2, ...]``, and their states."""
    env = make_env("Breakout-MinAtar", 4)
    net = QNetwork(env.num_actions)
    obs, _ = env.reset(jax.random.PRNGKey(0))
    teachers = jax.vmap(lambda k: net.init(k, obs))(jax.random.split(jax.random.PRNGKey(1), 2))
    copies = jax.tree.map(lambda p: p + 0.05 * jnp.sign(p), teachers)
    networks = jax.tree.map(lambda t, c: jnp.stack([t, c], axis=1), teachers, copies)
    policy = policies.epsilon_greedy(net.apply, 0.1)
    states = distillation.teacher_states(env, policy, teachers, 6, jax.random.PRNGKey(2))
    return env, net, policy, teachers, networks, states


def test_teacher_states_are_each_teachers_own_play(q_row):
    env, _, policy, teachers, _, states = q_row
    assert states.shape == (2, 6 * 4, *env.observation_shape)
    key = jax.random.split(jax.random.PRNGKey(2), 2)[1]
    second = jax.tree.map(lambda p: p[1], teachers)
    np.testing.assert_array_equal(states[1], rollouts.visited_states(env, policy, second, 6, key))


def test_distill_lengths_share_the_teacher_data_and_initialisations():
    env = make_env("Breakout-MinAtar", 2)
    net = QNetwork(env.num_actions)
    obs, _ = env.reset(jax.random.PRNGKey(0))
    teachers = jax.vmap(lambda k: net.init(k, obs))(jax.random.split(jax.random.PRNGKey(1), 2))
    policy, loss = policies.epsilon_greedy(net.apply, 0.1), distillation.q_regression_loss
    sizes = {"students": 2, "dataset_steps": 4, "batch_size": 4, "learning_rate": 1e-3}
    budget = dataclasses.replace(get_profile("smoke").distill, **sizes)
    networks, losses = distillation.distill_lengths(
        net, teachers, policy, env, loss, (6, 2), budget, jax.random.PRNGKey(3)
    )
    assert sorted(losses) == [2, 6] and losses[6].shape == (2, 2, 6) and losses[2].shape == (2, 2, 2)
    args = (net, teachers, policy, env, 4, 2, loss, 2, 4, 1e-3, jax.random.PRNGKey(3))
    short, _, short_losses = distillation.distill_teachers(*args)
    np.testing.assert_allclose(losses[2], short_losses, rtol=1e-6)
    kernel = lambda tree: tree["params"]["Dense_0"]["kernel"]
    assert kernel(networks).shape[:2] == (2, 1 + 2 * 2)  # the teacher, 2 students of 6 steps, 2 of 2 steps
    np.testing.assert_allclose(kernel(networks)[:, 3:], kernel(short)[:, 1:], rtol=1e-6)
    np.testing.assert_array_equal(kernel(networks)[:, 0], kernel(teachers))


def test_noisy_returns_play_each_row_with_its_own_key(q_row):
    env, _, policy, _, networks, _ = q_row
    levels, rng = (0.0, 0.3), jax.random.PRNGKey(4)
    returns = distillation.noisy_returns(env, policy, networks, distillation.bit_flip, levels, 15, rng)
    assert returns.shape == (2, 2, 2)
    params = jax.tree.map(lambda p: p[1, 0], networks)
    acting = policies.perturbed(policy, lambda k, o: distillation.bit_flip(k, o, 0.3))
    expected = rollouts.mean_episode_return(env, acting, params, 15, jax.random.split(rng, 2)[1])
    np.testing.assert_allclose(returns[1, 0, 1], expected, rtol=1e-6)


def test_noisy_agreement_is_one_without_noise_and_matches_action_agreement(q_row):
    _, net, _, _, networks, states = q_row
    rng = jax.random.PRNGKey(5)
    agree = distillation.noisy_agreement(net.apply, networks, states, distillation.bit_flip, (0.0, 0.5), rng)
    assert agree.shape == (2, 2, 2)
    np.testing.assert_array_equal(agree[..., 0], 1.0)
    params = jax.tree.map(lambda p: p[1, 1], networks)
    key = jax.random.split(rng, 2)[1]
    expected = distillation.action_agreement(net.apply, params, states[1], key, 0.5, distillation.bit_flip)
    np.testing.assert_allclose(agree[1, 1, 1], expected)
    chunked = distillation.noisy_agreement(net.apply, networks, states, distillation.bit_flip, (0.0, 0.5), rng, 3)
    np.testing.assert_allclose(chunked, agree)


def test_interpolation_consistency_walks_the_same_paths_for_a_row(q_row):
    _, net, _, _, networks, states = q_row
    rng = jax.random.PRNGKey(6)
    switches, variation = distillation.interpolation_consistency(net.apply, networks, states, 5, 4, rng)
    assert switches.shape == variation.shape == (2, 2)
    ends = jax.random.randint(jax.random.split(rng, 2)[0], (2, 5), 0, states.shape[1])
    paths = distillation.interpolation_paths(states[0][ends[0]], states[0][ends[1]], 4)
    out = distillation.path_statistics(net.apply, jax.tree.map(lambda p: p[0, 1], networks), paths)
    np.testing.assert_allclose(switches[0, 1], out["switches"].mean())
    np.testing.assert_allclose(variation[0, 1], np.median(out["variation_ratio"]), rtol=1e-6)


def test_interference_ratios_are_claim_4s_off_diagonal_ratios(q_row):
    _, net, _, _, networks, _ = q_row
    batch = rollouts.random_transitions("Breakout-MinAtar", 6, 3, jax.random.PRNGKey(7))
    ratios = distillation.interference_ratios(net.apply, networks, batch, 0.99, 1e-3)
    assert ratios.shape == (2, 2) and ratios.dtype == np.float64
    params = jax.tree.map(lambda p: p[1, 0], networks)
    u = interference.q_update_matrix(net.apply, params, batch=batch, gamma=0.99, learning_rate=1e-3)
    np.testing.assert_allclose(ratios[1, 0], interference.off_diagonal_ratio(np.asarray(u)), rtol=1e-5)


def test_distill_on_levels_returns_both_level_sets_and_modes():
    sizes = {"students": 2, "dataset_envs": 2, "dataset_steps": 4, "distill_steps": 3, "batch_size": 4}
    budget = dataclasses.replace(get_profile("smoke").distill, eval_episodes=2, **sizes)
    train, unseen, _ = level_split("maze", 2, 3)
    net = ActorCritic(make_env(train).num_actions)
    obs, _ = make_env(train, 2).reset(jax.random.PRNGKey(0))
    teachers = jax.vmap(lambda k: net.init(k, obs))(jax.random.split(jax.random.PRNGKey(1), 2))
    returns, losses = distillation.distill_on_levels(
        teachers, (train, unseen, 10), budget, jax.random.PRNGKey(2), jax.random.PRNGKey(3)
    )
    assert losses.shape == (2, 2, 3)
    assert list(returns) == [(s, m) for s in distillation.LEVEL_SETS for m in distillation.ACTION_MODES]
    assert all(r.shape == (2, 3) for r in returns.values())
    # the teachers' returns do not depend on their students: the same keys per row
    alone = rollouts.actor_critic_returns(
        net.apply, jax.tree.map(lambda p: p[:, None], teachers), make_env(unseen, 2), 10, jax.random.PRNGKey(3)
    )
    np.testing.assert_allclose(returns["unseen", "greedy"][:, 0], alone[:, 0, 1], rtol=1e-6)


def test_student_teacher_pairs_and_differences():
    values = np.array([[1.0, 2.0, 4.0, 9.0], [10.0, 11.0, 7.0, 9.0]])  # [teachers, 1 + 2 students + 1 other]
    np.testing.assert_array_equal(distillation.student_minus_teacher(values, 2), [1.0, 3.0, 1.0, -3.0])
    student, teacher = distillation.student_teacher_pairs(values, 2)
    np.testing.assert_array_equal(student, [2.0, 4.0, 11.0, 7.0])
    np.testing.assert_array_equal(teacher, [1.0, 1.0, 10.0, 10.0])
