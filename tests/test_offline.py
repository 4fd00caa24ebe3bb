import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen.envs import make_env
from tdgen.rl import offline, policies, rollouts, td
from tdgen.rl.networks import QNetwork


def test_discounted_returns_restart_at_episode_ends():
    reward = jnp.array([[1.0], [1.0], [1.0], [1.0]])
    done = jnp.array([[False], [True], [False], [False]])
    returns, complete = td.discounted_returns(reward, done, 0.5)
    np.testing.assert_allclose(returns[:, 0], [1.5, 1.0, 1.5, 1.0])
    np.testing.assert_array_equal(complete[:, 0], [True, True, False, False])  # the last episode is unfinished
    with pytest.raises(ValueError, match=r"\[T, N\]"):
        td.discounted_returns(reward[:, 0], done[:, 0], 0.5)


def _data():
    env = make_env("Breakout-MinAtar", 8)
    net = QNetwork(env.num_actions)
    params = net.init(jax.random.PRNGKey(0), env.reset(jax.random.PRNGKey(1))[0])
    out = rollouts.rollout(env, policies.epsilon_greedy(net.apply, 1.0), params, 200, jax.random.PRNGKey(2))
    return net, params, out


def test_transitions_keep_only_finished_episodes_and_pair_next_states():
    _, _, out = _data()
    data = td.transitions(out, 0.99)
    assert 0 < data["obs"].shape[0] < 199 * 8
    assert {k: v.shape[0] for k, v in data.items()} == dict.fromkeys(data, data["obs"].shape[0])
    returns, complete = td.discounted_returns(out["reward"], out["done"], 0.99)
    np.testing.assert_allclose(np.sort(data["mc_return"]), np.sort(np.asarray(returns[:-1])[np.asarray(complete[:-1])]))


def test_td_and_mc_fits_share_everything_but_the_targets():
    net, params, out = _data()
    data = td.transitions(out, 0.99)
    fits = {
        kind: jax.jit(offline.make_offline_fit(net.apply, kind, 0.99, 60, 32, 1e-3, 10, 3))(
            jax.random.PRNGKey(3), params, data
        )
        for kind in ("td", "mc")
    }
    for fitted in fits.values():
        assert all(leaf.shape[0] == 4 for leaf in jax.tree.leaves(fitted))
        np.testing.assert_array_equal(jax.tree.leaves(fitted)[0][0], jax.tree.leaves(params)[0])
    first = lambda kind: jax.tree.map(lambda x: x[-1], fits[kind])
    assert not np.allclose(jax.tree.leaves(first("td"))[0], jax.tree.leaves(first("mc"))[0])

    def mc_loss(p):
        q = jnp.take_along_axis(net.apply(p, data["obs"]), data["action"][:, None], axis=-1)[:, 0]
        return float(jnp.mean((q - data["mc_return"]) ** 2))

    assert mc_loss(first("mc")) < mc_loss(params)
    with pytest.raises(ValueError, match="targets"):
        offline.make_offline_fit(net.apply, "sarsa", 0.99, 60, 32, 1e-3, 10, 3)
    with pytest.raises(ValueError, match="multiple"):
        offline.make_offline_fit(net.apply, "td", 0.99, 61, 32, 1e-3, 10, 3)


def test_transitions_drop_envpool_reset_steps():
    _, _, out = _data()
    assert not np.asarray(out["reset_step"]).any()  # a JAX environment has none
    flagged = dict(out, reset_step=out["reset_step"].at[0].set(True))  # every environment's first step, say
    kept, without = td.transitions(out, 0.99), td.transitions(flagged, 0.99)
    complete = np.asarray(td.discounted_returns(out["reward"], out["done"], 0.99)[1][0])
    assert without["obs"].shape[0] == kept["obs"].shape[0] - complete.sum()
