"""tdgen.rl.fit.gradient_steps, the one optax fitting loop, against plain Python loops."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tdgen.rl.fit import gradient_steps

TX = optax.adam(0.1)
THETA = {"w": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)}


def loss(params, x):
    """A least-squares loss whose data ``x`` (a scalar, or None) changes from step to step."""
    target = 0.0 if x is None else x
    return jnp.sum((params["w"] * 2.0 + params["b"] - target) ** 2)


def python_loop(params, xs, opt_state=None):
    opt_state = TX.init(params) if opt_state is None else opt_state
    trajectory, losses = [params], []
    for x in xs:
        value, grads = jax.value_and_grad(loss)(params, x)
        updates, opt_state = TX.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        trajectory.append(params)
        losses.append(value)
    return trajectory, jnp.stack(losses), opt_state


def close(a, b):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6), a, b)


def test_steps_follow_the_optimiser_with_per_step_inputs_and_losses():
    xs = jnp.linspace(-1.0, 1.0, 12)
    fitted = jax.jit(lambda p, x: gradient_steps(loss, TX, p, x, return_losses=True))(THETA, xs)
    trajectory, losses, opt_state = python_loop(THETA, xs)
    close(fitted.params, trajectory[-1])
    close(fitted.opt_state, opt_state)
    np.testing.assert_allclose(fitted.losses, losses, rtol=1e-6)
    assert fitted.records is None
    assert gradient_steps(loss, TX, THETA, xs).losses is None


def test_without_inputs_and_from_a_given_optimiser_state():
    first = gradient_steps(loss, TX, THETA, num_steps=3)
    second = gradient_steps(loss, TX, first.params, num_steps=4, opt_state=first.opt_state)
    close(second.params, gradient_steps(loss, TX, THETA, num_steps=7).params)
    unchanged = gradient_steps(loss, TX, THETA, num_steps=0)
    jax.tree.map(np.testing.assert_array_equal, unchanged.params, THETA)


def test_checkpoints_record_before_the_first_and_after_every_chunk():
    xs = jnp.linspace(-1.0, 1.0, 12)
    trajectory, losses, _ = python_loop(THETA, xs)
    fitted = gradient_steps(loss, TX, THETA, xs, checkpoints=4, record=lambda p: p["w"], return_losses=True)
    close(fitted.records, jnp.stack([trajectory[k]["w"] for k in range(0, 13, 3)]))
    np.testing.assert_allclose(fitted.losses, losses, rtol=1e-6)
    whole = gradient_steps(loss, TX, THETA, xs, checkpoints=2)
    assert jax.tree.leaves(whole.records)[0].shape[0] == 3
    close(jax.tree.map(lambda r: r[-1], whole.records), whole.params)


def test_target_network_is_copied_after_every_kth_step():
    seen = []  # the target parameters each step's loss saw, read back through the loss value

    def pull(params, target_params, x):
        return jnp.sum((params["w"] - target_params["w"] - x) ** 2)

    xs = jnp.ones(7)
    fitted = gradient_steps(pull, TX, THETA, xs, target_every=3, return_losses=True)
    params, target, opt_state = THETA, THETA, TX.init(THETA)
    for k, x in enumerate(xs):
        value, grads = jax.value_and_grad(pull)(params, target, x)
        seen.append(value)
        updates, opt_state = TX.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        if (k + 1) % 3 == 0:
            target = params
    np.testing.assert_allclose(fitted.losses, jnp.stack(seen), rtol=1e-6)
    close(fitted.params, params)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_steps"):
        gradient_steps(loss, TX, THETA)
    with pytest.raises(ValueError, match="only without xs"):
        gradient_steps(loss, TX, THETA, jnp.zeros(4), num_steps=4)
    with pytest.raises(ValueError, match="multiple of checkpoints"):
        gradient_steps(loss, TX, THETA, num_steps=10, checkpoints=3)
    with pytest.raises(ValueError, match="target_every"):
        gradient_steps(loss, TX, THETA, num_steps=10, target_every=0)
