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

PRNG3 = jax.random.PRNGKey(3)


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
    args = (policies.softmax_policy(net.apply), 8, 2, distillation.policy_distillation_loss, (5,), 8, 1e-3)
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
        (3,),
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


def test_losses_are_the_fit_measures_plus_their_regularisers():
    q = jnp.array([[1.0, 2.0], [0.5, -1.0]])
    np.testing.assert_allclose(distillation.q_error(q + 2.0, q), 4.0)
    np.testing.assert_allclose(distillation.q_regression_loss(q + 2.0, q), 0.5 * distillation.q_error(q + 2.0, q))
    # KL of two-action policies with probabilities (½, ½) and (e/(1+e), 1/(1+e)) against the uniform student
    teacher, student = (jnp.array([[0.0, 0.0], [1.0, 0.0]]), jnp.zeros(2)), (jnp.zeros((2, 2)), jnp.ones(2))
    p = np.e / (1 + np.e)
    expected = 0.5 * (0.0 + p * np.log(2 * p) + (1 - p) * np.log(2 * (1 - p)))
    np.testing.assert_allclose(distillation.policy_kl(student, teacher), expected, rtol=1e-6)
    loss = distillation.policy_distillation_loss(student, teacher, value_coef=0.5)
    np.testing.assert_allclose(loss, expected + 0.5 * 0.5 * 1.0, rtol=1e-6)  # + c · ½ (V_s − V_t)², V_s − V_t = 1


def test_make_distill_snapshots_are_the_one_run_after_each_length():
    net = QNetwork(3)
    obs = jax.random.bernoulli(jax.random.PRNGKey(0), 0.3, (32, 10, 10, 4)).astype(jnp.uint8)
    targets = net.apply(net.init(jax.random.PRNGKey(1), obs[:1]), obs)
    student, rng = net.init(jax.random.PRNGKey(2), obs[:1]), jax.random.PRNGKey(3)
    loss = distillation.q_regression_loss
    whole, whole_losses = jax.jit(distillation.make_distill(net.apply, loss, 6, 8, 1e-2))(rng, student, obs, targets)
    run = distillation.make_distill(net.apply, loss, 6, 8, 1e-2, snapshots=(2, 6))
    taken, losses = jax.jit(run)(rng, student, obs, targets)
    kernel = lambda tree: tree["params"]["Dense_0"]["kernel"]
    assert kernel(taken).shape[0] == 2
    # Adam's state is carried across the snapshot: the last one is the unsnapshotted run
    np.testing.assert_allclose(kernel(taken)[1], kernel(whole), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(losses, whole_losses, rtol=1e-5)
    # the first snapshot is θ_2: step 2's recorded loss is the loss of its minibatch there
    index = jax.random.randint(jax.random.split(rng, 6)[2], (8,), 0, 32)
    at_two = jax.tree.map(lambda p: p[0], taken)
    np.testing.assert_allclose(losses[2], loss(net.apply(at_two, obs[index]), targets[index]), rtol=1e-5)
    for bad in ((2, 5), (3, 3, 6), (0, 6)):
        with pytest.raises(ValueError, match="snapshots must increase"):
            distillation.make_distill(net.apply, loss, 6, 8, 1e-2, snapshots=bad)


def test_distill_schedule_halves_up_to_the_distillation_steps():
    budget = get_profile("smoke").distill
    assert dataclasses.replace(budget, distill_steps=15_000, lengths=3).distill_schedule == (3750, 7500, 15_000)
    with pytest.raises(ValueError, match="do not fit"):
        dataclasses.replace(budget, distill_steps=4, lengths=4)


def test_distill_lengths_take_every_length_from_one_run():
    env = make_env("Breakout-MinAtar", 2)
    net = QNetwork(env.num_actions)
    obs, _ = env.reset(jax.random.PRNGKey(0))
    teachers = jax.vmap(lambda k: net.init(k, obs))(jax.random.split(jax.random.PRNGKey(1), 2))
    policy, loss = policies.epsilon_greedy(net.apply, 0.1), distillation.q_regression_loss
    sizes = {
        "students": 2,
        "dataset_steps": 4,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "distill_steps": 6,
        "lengths": 2,
    }
    budget = dataclasses.replace(get_profile("smoke").distill, **sizes)
    networks, states, losses = distillation.distill_lengths(net, teachers, policy, env, loss, budget, PRNG3)
    assert states.shape == (2, 8, *env.observation_shape) and losses.shape == (2, 2, 6)
    kernel = lambda tree: tree["params"]["Dense_0"]["kernel"]
    assert kernel(networks).shape[:2] == (2, 1 + 2 * 2)  # the teacher, 2 students at 3 steps, the same at 6
    args = (net, teachers, policy, env, 4, 2, loss, (6,), 4, 1e-3, PRNG3)
    whole, _, whole_losses = distillation.distill_teachers(*args)
    np.testing.assert_allclose(kernel(networks)[:, 3:], kernel(whole)[:, 1:], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(losses, whole_losses, rtol=1e-5)
    np.testing.assert_array_equal(kernel(networks)[:, 0], kernel(teachers))
    assert not np.allclose(kernel(networks)[:, 1:3], kernel(networks)[:, 3:])  # 3 more steps moved the students


def test_spread_states_span_the_rollout():
    states = jnp.arange(2 * 10).reshape(2, 10)
    np.testing.assert_array_equal(distillation.spread_states(states, 3), [[0, 3, 6], [10, 13, 16]])
    with pytest.raises(ValueError, match="cannot take 11"):
        distillation.spread_states(states, 11)


def test_teacher_divergence_is_zero_for_the_teacher_and_the_q_error_elsewhere(q_row):
    _, net, _, _, networks, states = q_row
    errors = distillation.teacher_divergence(net.apply, networks, states, distillation.q_error)
    assert errors.shape == (2, 2)
    np.testing.assert_array_equal(errors[:, 0], 0.0)
    copy, teacher = jax.tree.map(lambda p: p[1, 1], networks), jax.tree.map(lambda p: p[1, 0], networks)
    expected = distillation.q_error(net.apply(copy, states[1]), net.apply(teacher, states[1]))
    np.testing.assert_allclose(errors[1, 1], expected, rtol=1e-5)
    chunked = distillation.teacher_divergence(net.apply, networks, states, distillation.q_error, at_once=3)
    np.testing.assert_allclose(chunked, errors, rtol=1e-6)


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


def test_distill_on_levels_returns_the_fit_and_both_level_sets_and_modes():
    sizes = {"students": 2, "dataset_envs": 2, "dataset_steps": 4, "distill_steps": 4, "lengths": 2, "batch_size": 4}
    budget = dataclasses.replace(get_profile("smoke").distill, eval_episodes=2, probe_states=4, **sizes)
    train, unseen, _ = level_split("maze", 2, 3)
    net = ActorCritic(make_env(train).num_actions)
    obs, _ = make_env(train, 2).reset(jax.random.PRNGKey(0))
    teachers = jax.vmap(lambda k: net.init(k, obs))(jax.random.split(jax.random.PRNGKey(1), 2))
    out = distillation.distill_on_levels(teachers, (train, unseen, 10), budget, PRNG3, jax.random.PRNGKey(4))
    assert out.losses.shape == (2, 2, 4)
    assert list(out.returns) == [(s, m) for s in distillation.LEVEL_SETS for m in distillation.ACTION_MODES]
    assert all(r.shape == (2, 1 + 2 * 2) for r in out.returns.values())
    assert out.kl.shape == (2, 5) and np.all(out.kl[:, 0] == 0.0) and np.all(out.kl[:, 1:] > 0.0)
    # the teachers' returns do not depend on their students: the same keys per row
    play_key = jax.random.split(jax.random.PRNGKey(4))[1]
    alone = rollouts.actor_critic_returns(
        net.apply, jax.tree.map(lambda p: p[:, None], teachers), make_env(unseen, 2), 10, play_key
    )
    np.testing.assert_allclose(out.returns["unseen", "greedy"][:, 0], alone[:, 0, 1], rtol=1e-6)


def test_by_length_pairs_and_differences():
    # [2 teachers, 1 + 2 lengths · 2 students]
    values = np.array([[1.0, 2.0, 4.0, 9.0, 0.0], [10.0, 11.0, 7.0, 9.0, 12.0]])
    teacher, students = distillation.by_length(values, 2, 2)
    np.testing.assert_array_equal(teacher, [1.0, 10.0])
    np.testing.assert_array_equal(students[:, 1], [[9.0, 0.0], [9.0, 12.0]])  # the second length
    student, paired = distillation.student_teacher_pairs(values, 2, 2)
    assert student.shape == paired.shape == (2, 2, 2)
    np.testing.assert_array_equal(paired[1], 10.0)
    np.testing.assert_array_equal((student - paired)[0], [[1.0, 3.0], [8.0, -1.0]])  # each minus its own teacher
    with pytest.raises(ValueError, match="1 \\+ 3 · 2"):
        distillation.by_length(values, 3, 2)


def test_return_fractions_and_the_length_of_the_verdict():
    returns = np.array([[2.0, 0.0, 1.0, 2.0, 2.0], [4.0, 1.0, 1.0, 3.0, 4.0]])  # teachers' mean 3
    np.testing.assert_allclose(distillation.return_fractions(returns, 2, 2), [3.0 / 12.0, 11.0 / 12.0])
    assert distillation.verdict_length([0.25, 11 / 12]) == (1, True)
    assert distillation.verdict_length([0.5, 0.95, 0.85]) == (1, True)  # the first to reach 0.9
    assert distillation.verdict_length([0.5, 0.8]) == (1, False)  # never reached: the longest
