"""Update matrices and interference summaries: closed forms and extreme cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen import interference


def linear(params, example):
    return params["w"] @ example["x"] + params["b"]


@pytest.fixture
def linear_problem():
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.standard_normal((5, 3)))
    y = jnp.asarray(rng.standard_normal(5))
    params = {"w": jnp.asarray(rng.standard_normal(3)), "b": jnp.asarray(0.3)}
    return params, {"x": X, "y": y}


def test_linear_update_matrix_matches_closed_form(linear_problem):
    params, batch = linear_problem
    eta = 0.1
    U = interference.update_matrix(
        interference.batched(linear), interference.squared_error_loss(linear), params, batch, eta
    )
    # One SGD step on ½(y_i − w·x_i − b)² moves (w, b) by η r_i (x_i, 1), so U_ij = η r_i (x_i·x_j + 1).
    residual = batch["y"] - (batch["x"] @ params["w"] + params["b"])
    expected = eta * residual[:, None] * (batch["x"] @ batch["x"].T + 1.0)
    np.testing.assert_allclose(U, expected, rtol=1e-5, atol=1e-6)


def test_gradient_kernel_of_linear_model(linear_problem):
    params, batch = linear_problem
    K = interference.gradient_kernel(linear, params, batch)
    np.testing.assert_allclose(K, batch["x"] @ batch["x"].T + 1.0, rtol=1e-5)
    cosine = interference.gradient_cosine(K)
    np.testing.assert_allclose(np.diag(cosine), 1.0, rtol=1e-6)


def test_small_step_update_matrix_is_kernel_times_loss_gradient():
    # For a nonlinear model the kernel form holds to first order in η: U ≈ η (y_i − f(x_i)) K(x_i, x_j).
    def predict(params, example):
        return jnp.tanh(params["w"] @ example["x"] + params["b"])

    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        params = {"w": jnp.asarray(rng.standard_normal(3)), "b": jnp.asarray(0.1)}
        batch = {"x": jnp.asarray(rng.standard_normal((5, 3))), "y": jnp.asarray(rng.standard_normal(5))}
        outputs = interference.batched(predict)
        eta = 1e-6
        U = interference.update_matrix(outputs, interference.squared_error_loss(predict), params, batch, eta)
        residual = batch["y"] - outputs(params, batch)
        K = interference.gradient_kernel(predict, params, batch)
        np.testing.assert_allclose(U / eta, residual[:, None] * K, rtol=1e-4, atol=1e-8)


def test_update_matrix_of_a_network_is_vmapped_over_states():
    import flax.linen as nn

    model = nn.Dense(1)
    x = jnp.ones((4, 2)) * jnp.arange(4.0)[:, None]
    params = model.init(jax.random.PRNGKey(0), x)

    def predict(p, example):
        return model.apply(p, example["x"])[0]

    U = interference.update_matrix(
        interference.batched(predict),
        interference.squared_error_loss(predict),
        params,
        {"x": x, "y": jnp.ones(4)},
        0.01,
    )
    assert U.shape == (4, 4)


def test_extremes_of_the_summaries():
    n = 6
    identity, ones = np.eye(n), np.ones((n, n))
    assert interference.off_diagonal_ratio(identity) == 0.0
    assert interference.off_diagonal_ratio(ones) == pytest.approx(1.0)
    np.testing.assert_allclose(interference.effective_ranks(np.stack([identity, ones])), [n, 1.0])
    np.testing.assert_allclose(interference.mean_abs_off_diagonal(interference.gradient_cosine(ones)), 1.0)
    assert interference.mean_abs_off_diagonal(interference.gradient_cosine(3 * identity)) == 0.0
    stats = interference.interference_statistics(np.stack([3 * identity, ones]), np.stack([identity, ones]))
    assert tuple(stats) == interference.STATISTICS
    np.testing.assert_allclose(stats["shift-removed ratio"], [0.0, 0.0])  # diagonal and rank one both give 0
    np.testing.assert_allclose(stats["off-diagonal ratio"], [0.0, 1.0])
    np.testing.assert_allclose(stats["mean |cosine|"], [0.0, 1.0])
    np.testing.assert_allclose(stats["effective rank / n"], [1.0, 1 / n])


def test_shift_removed_ratio_removes_each_rows_shared_shift():
    rng = np.random.default_rng(2)
    n = 5
    shift = rng.standard_normal(n)
    assert interference.shift_removed_ratios(np.diag(rng.standard_normal(n)) * 2) == 0.0
    row_constant = np.repeat(shift[:, None], n, axis=1)  # an update moves every output by the same amount
    assert interference.shift_removed_ratios(row_constant) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(interference.shift_removed(row_constant), np.diag(shift), atol=1e-12)
    # Rows whose off-diagonal entries are ±a around a median of 0: nothing is removed.
    u = np.eye(n) * 3.0
    u[~np.eye(n, dtype=bool)] = np.tile([1.0, -1.0, 2.0, -2.0], n)
    assert interference.shift_removed_ratios(u) == pytest.approx(interference.off_diagonal_ratio(u))
    # A shift added to each row off the diagonal changes the plain ratio, not the shift-removed one.
    shifted = u + np.where(np.eye(n, dtype=bool), 0.0, shift[:, None])
    assert interference.shift_removed_ratios(shifted) == pytest.approx(interference.shift_removed_ratios(u))
    assert interference.off_diagonal_ratio(shifted) != pytest.approx(interference.off_diagonal_ratio(u))


def test_statistics_of_a_stack_are_each_matrix_statistic():
    rng = np.random.default_rng(0)
    stack = rng.standard_normal((2, 3, 4, 4))
    kernel = np.einsum("...ik,...jk->...ij", stack, stack)
    stats = interference.interference_statistics(stack, kernel)
    assert all(v.shape == (2, 3) for v in stats.values())
    one, k = stack[1, 2], kernel[1, 2]
    off = ~np.eye(4, dtype=bool)
    assert stats["off-diagonal ratio"][1, 2] == pytest.approx(np.abs(one[off]).mean() / np.abs(np.diag(one)).mean())
    residual = one[off].reshape(4, 3) - np.median(one[off].reshape(4, 3), axis=1, keepdims=True)
    assert stats["shift-removed ratio"][1, 2] == pytest.approx(np.abs(residual).mean() / np.abs(np.diag(one)).mean())
    cosine = k / np.sqrt(np.outer(np.diag(k), np.diag(k)))
    assert stats["mean |cosine|"][1, 2] == pytest.approx(np.abs(cosine[off]).mean())
    singular = np.linalg.svd(one, compute_uv=False)
    p = singular / singular.sum()
    assert stats["effective rank / n"][1, 2] == pytest.approx(np.exp(-(p * np.log(p)).sum()) / 4)
    np.testing.assert_array_equal(interference.off_diagonal_ratios(np.stack([np.eye(3), np.ones((3, 3))])), [0.0, 1.0])
    assert interference.off_diagonal_ratios(np.zeros((2, 2))) == np.inf  # no diagonal to compare with


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="square matri"):
        interference.off_diagonal_ratio(np.ones((2, 3)))
    with pytest.raises(ValueError, match="square matrix"):
        interference.off_diagonal_ratio(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="square matrices"):
        interference.shift_removed_ratios(np.ones((4, 2, 3)))
    with pytest.raises(ValueError, match="zero matrix"):
        interference.effective_ranks(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="same leading size"):
        interference.gradient_kernel(linear, {"w": jnp.ones(2), "b": 0.0}, {"x": jnp.ones((3, 2)), "y": jnp.ones(4)})


@pytest.fixture(scope="module")
def minatar():
    from tdgen.envs import make_env
    from tdgen.rl.networks import QNetwork

    env = make_env("Breakout-MinAtar", 3)
    network = QNetwork(env.num_actions)
    params = network.init(jax.random.PRNGKey(0), jnp.zeros((1, 10, 10, 4)))
    return env, network, params


def test_policy_transitions_are_the_last_steps_of_play(minatar):
    from tdgen.rl import policies, rollouts

    env, network, params = minatar
    policy = policies.epsilon_greedy(network.apply, 0.1)
    key = jax.random.PRNGKey(1)
    data = interference.policy_transitions(env, policy, params, 4, 5, key)
    steps, last_obs = rollouts.play(env, policy, params, 9, key)
    assert data["obs"].shape == (15, 10, 10, 4) and data["done"].dtype == jnp.float32
    np.testing.assert_array_equal(data["obs"].reshape(5, 3, 10, 10, 4), steps["obs"][4:])
    np.testing.assert_array_equal(data["action"], steps["action"][4:].reshape(-1))
    # step t's next observation is step t + 1's observation in the same environment, the last one play's last
    np.testing.assert_array_equal(data["next_obs"][:-3], data["obs"][3:])
    np.testing.assert_array_equal(data["next_obs"][-3:], last_obs)


def test_sampled_transitions_draw_distinct_transitions_of_the_play(minatar):
    from tdgen.rl import policies

    env, _, _ = minatar
    policy = policies.uniform_random(env.num_actions)
    key = jax.random.PRNGKey(2)
    drawn = interference.sampled_transitions(env, policy, None, 6, 3, 4, key)
    play_key, draw_key = jax.random.split(key)
    pool = interference.policy_transitions(env, policy, None, 3, 4, play_key)
    chosen = np.asarray(jax.random.choice(draw_key, 12, (6,), replace=False))
    assert drawn["obs"].shape == (6, 10, 10, 4) and len(set(chosen.tolist())) == 6  # without replacement
    jax.tree.map(np.testing.assert_array_equal, drawn, jax.tree.map(lambda x: x[chosen], pool))
    with pytest.raises(ValueError, match="count <= num_steps"):
        interference.sampled_transitions(env, policy, None, 13, 3, 4, key)


def test_agent_play_and_own_state_probes(minatar):
    from tdgen.rl import policies

    env, network, params = minatar
    seeds = jax.tree.map(lambda p: jnp.stack([p, 2 * p]), params)  # two "seeds"
    greedy, uniform = policies.epsilon_greedy(network.apply, 0.0), policies.uniform_random(env.num_actions)
    key = jax.random.PRNGKey(3)
    probes = interference.agent_play_probes(env, [(greedy, seeds), (uniform, seeds)], 2, 3, 4, key)
    assert probes["obs"].shape == (8, 10, 10, 4) and probes["action"].shape == (8,)
    # block a·seeds + s: algorithm a's seed s, with key s of split(key a of split(key))
    second = jax.tree.map(lambda p: p[1], seeds)
    one = interference.sampled_transitions(env, greedy, second, 2, 3, 4, jax.random.split(jax.random.split(key)[0])[1])
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(lambda x: x[2:4], probes), one)
    runs = jax.tree.map(lambda p: jnp.stack([p, p, p]).reshape(3, 1, *p.shape), params)  # [3 seeds, 1 checkpoint]
    own = interference.own_state_probes(env, greedy, runs, 5, 3, 4, key)
    assert own["obs"].shape == (3, 1, 5, 10, 10, 4) and own["done"].shape == (3, 1, 5)
    expected = interference.sampled_transitions(env, greedy, params, 5, 3, 4, jax.random.split(key, 3)[2])
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(lambda x: x[2, 0], own), expected)


def test_the_budget_draws_as_many_probes_from_every_agent():
    import dataclasses

    from tdgen.profiles import get_profile

    budget = get_profile("smoke").interference  # 2 seeds: 4 agents
    with pytest.raises(ValueError, match="multiple of 2 · seeds"):
        dataclasses.replace(budget, states=14)
    with pytest.raises(ValueError, match="at most probe_envs · probe_steps"):
        dataclasses.replace(budget, states=20, probe_envs=2, probe_steps=8)
    with pytest.raises(ValueError, match="multiple of offline_checkpoints"):
        dataclasses.replace(budget, offline_steps=21)
