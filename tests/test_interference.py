"""Update matrices and interference summaries: closed forms and extreme cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen import interference


def linear(params, x):
    return params["w"] @ x + params["b"]


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
    K = interference.gradient_kernel(interference.batched(linear), params, batch)
    np.testing.assert_allclose(K, batch["x"] @ batch["x"].T + 1.0, rtol=1e-5)
    cosine = interference.gradient_cosine(K)
    np.testing.assert_allclose(np.diag(cosine), 1.0, rtol=1e-6)


def test_small_step_update_matrix_is_kernel_times_loss_gradient():
    # For a nonlinear model the kernel form holds to first order in η: U ≈ η (y_i − f(x_i)) K(x_i, x_j).
    def predict(params, x):
        return jnp.tanh(params["w"] @ x + params["b"])

    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        params = {"w": jnp.asarray(rng.standard_normal(3)), "b": jnp.asarray(0.1)}
        batch = {"x": jnp.asarray(rng.standard_normal((5, 3))), "y": jnp.asarray(rng.standard_normal(5))}
        outputs = interference.batched(predict)
        eta = 1e-6
        U = interference.update_matrix(outputs, interference.squared_error_loss(predict), params, batch, eta)
        residual = batch["y"] - outputs(params, batch)
        K = interference.gradient_kernel(outputs, params, batch)
        np.testing.assert_allclose(U / eta, residual[:, None] * K, rtol=1e-4, atol=1e-8)


def test_update_matrix_of_a_network_is_vmapped_over_states():
    import flax.linen as nn

    model = nn.Dense(1)
    x = jnp.ones((4, 2)) * jnp.arange(4.0)[:, None]
    params = model.init(jax.random.PRNGKey(0), x)

    def predict(p, state):
        return model.apply(p, state)[0]

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
    assert interference.effective_rank(identity) == pytest.approx(n)
    assert interference.effective_rank(ones) == pytest.approx(1.0)
    assert interference.mean_off_diagonal(interference.gradient_cosine(ones)) == pytest.approx(1.0)
    assert interference.summarize(3 * identity) == {"off_diagonal_ratio": 0.0, "effective_rank": pytest.approx(n)}


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="square matrix"):
        interference.off_diagonal_ratio(np.ones((2, 3)))
    with pytest.raises(ValueError, match="zero matrix"):
        interference.effective_rank(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="same leading size"):
        interference.gradient_kernel(
            interference.batched(linear), {"w": jnp.ones(2), "b": 0.0}, {"x": jnp.ones((3, 2)), "y": jnp.ones(4)}
        )


def test_off_diagonal_ratios_of_a_stack_are_each_matrix_ratio():
    stack = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    ratios = interference.off_diagonal_ratios(stack)
    assert ratios.shape == (2, 3)
    assert ratios[1, 2] == interference.off_diagonal_ratio(stack[1, 2])
    np.testing.assert_array_equal(interference.off_diagonal_ratios(np.stack([np.eye(3), np.ones((3, 3))])), [0.0, 1.0])
