"""Claim 4's agents: probe transitions, their update matrices, the TD-versus-MC control, and the seeds and
checkpoints these are computed over (tdgen.rl.agents.train_seeds, over_runs)."""

import dataclasses
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen import envs, interference
from tdgen.profiles import get_profile
from tdgen.rl import agents, offline, rollouts, runner
from tdgen.rl.networks import ActorCritic, QNetwork


@pytest.fixture(scope="module")
def batch():
    return rollouts.random_transitions("Breakout-MinAtar", 6, 3, jax.random.PRNGKey(0))


def test_probe_transitions_shapes(batch):
    assert batch["obs"].shape == batch["next_obs"].shape == (6, 10, 10, 4)
    assert batch["obs"].dtype == np.uint8
    assert batch["action"].shape == batch["reward"].shape == batch["done"].shape == (6,)
    with pytest.raises(ValueError, match="n_states >= 2"):
        rollouts.random_transitions("Breakout-MinAtar", 1, 3, jax.random.PRNGKey(0))


def test_q_update_matrix_rows_are_single_state_td_steps(batch):
    network = QNetwork(3)
    params = network.init(jax.random.PRNGKey(1), batch["obs"])
    U = np.asarray(interference.q_update_matrix(network.apply, params, batch, 0.9, 1e-2))
    assert U.shape == (6, 6)
    # Row 0 by hand: one SGD step on ½(y_0 − Q(x_0, a_0))², then the change of Q(x_j, a_j).
    q = network.apply(params, batch["obs"])
    y0 = batch["reward"][0] + 0.9 * (1 - batch["done"][0]) * network.apply(params, batch["next_obs"][:1]).max()

    def loss(p):
        return 0.5 * (y0 - network.apply(p, batch["obs"][:1])[0, batch["action"][0]]) ** 2

    stepped = jax.tree.map(lambda p, g: p - 1e-2 * g, params, jax.grad(loss)(params))
    q_after = network.apply(stepped, batch["obs"])
    idx = np.arange(6), np.asarray(batch["action"])
    np.testing.assert_allclose(U[0], np.asarray(q_after)[idx] - np.asarray(q)[idx], rtol=1e-4, atol=1e-7)


def test_actor_critic_update_matrices(batch):
    network = ActorCritic(3)
    params = network.init(jax.random.PRNGKey(2), batch["obs"])
    matrices = interference.actor_critic_update_matrices(network.apply, params, batch, 0.9, 1e-2)
    assert set(matrices) == {"critic", "actor"}
    for m in matrices.values():
        assert m.shape == (6, 6) and np.all(np.isfinite(m))
        assert interference.off_diagonal_ratio(np.asarray(m)) >= 0


def stacked(network, keys, obs):
    """Parameters initialised from ``keys [seeds, checkpoints, 2]``: leaves ``[seeds, checkpoints, ...]``."""
    return jax.vmap(jax.vmap(lambda k: network.init(k, obs)))(keys)


def test_agent_matrices_at_every_checkpoint(batch):
    keys = jax.random.split(jax.random.PRNGKey(3), 4).reshape(2, 2, -1)
    q_net, ac_net = QNetwork(3), ActorCritic(3)
    q_params, ac_params = stacked(q_net, keys, batch["obs"]), stacked(ac_net, keys, batch["obs"])
    out = interference.agent_matrices(q_net.apply, q_params, ac_net.apply, ac_params, batch, batch, 0.9, 0.8, 1e-2)
    assert tuple(out) == interference.AGENT_OUTPUTS
    assert all(u.shape == k.shape == (2, 2, 6, 6) for u, k in out.values())
    one = jax.tree.map(lambda p: p[1, 0], q_params)
    expected = interference.q_update_matrix(q_net.apply, one, batch, 0.9, 1e-2)
    np.testing.assert_allclose(out["DQN Q"][0][1, 0], expected, rtol=1e-4, atol=1e-7)
    one = jax.tree.map(lambda p: p[0, 1], ac_params)
    expected = interference.actor_critic_update_matrices(ac_net.apply, one, batch, 0.8, 1e-2)
    np.testing.assert_allclose(out["PPO actor log π"][0][0, 1], expected["actor"], rtol=1e-4, atol=1e-7)
    critic = interference.actor_critic_problems(ac_net.apply, one, batch, 0.8)["critic"]
    kernel = interference.gradient_kernel(critic.predict, one, critic.data)
    np.testing.assert_allclose(out["PPO critic V"][1][0, 1], kernel, rtol=1e-4, atol=1e-6)
    # each run's own probes: leaves [seeds, checkpoints, n, ...]
    own = jax.tree.map(lambda x: jnp.stack([jnp.stack([x, x[::-1]])] * 2), batch)
    mine = interference.agent_matrices(q_net.apply, q_params, ac_net.apply, ac_params, own, own, 0.9, 0.8, 1e-2)
    reversed_probes = jax.tree.map(lambda x: x[::-1], batch)
    one = jax.tree.map(lambda p: p[1, 1], q_params)
    expected = interference.q_update_matrix(q_net.apply, one, reversed_probes, 0.9, 1e-2)
    np.testing.assert_allclose(mine["DQN Q"][0][1, 1], expected, rtol=1e-4, atol=1e-7)
    per_seed = jax.tree.map(lambda x: x[0], own)  # [checkpoints, n]: neither shared nor per run
    with pytest.raises(ValueError, match="runs, checkpoints, n"):
        interference.agent_matrices(q_net.apply, q_params, ac_net.apply, ac_params, per_seed, batch, 0.9, 0.8, 0.1)


def test_td_mc_control_fits_the_same_networks_to_each_target(batch):
    network = QNetwork(3)
    params = jax.vmap(network.init, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(4), 2), batch["obs"])
    env = envs.make_env("Breakout-MinAtar", 2)
    data = interference.control_transitions(network.apply, params, env, 0.5, 150, 0.9, jax.random.PRNGKey(5))
    assert set(data) == {"obs", "action", "reward", "done", "next_obs", "mc_return"}
    assert data["obs"].shape[0] == 2 and 0 < data["obs"].shape[1] <= 2 * 149 and data["obs"].shape[2:] == (10, 10, 4)
    fits = {k: offline.make_offline_fit(network.apply, k, 0.9, 4, 8, 1e-3, 2, 2) for k in ("td", "mc")}
    keys = jax.random.PRNGKey(6), jax.random.PRNGKey(7)
    m = interference.td_mc_control(network, fits, data, batch, *keys, inits=2, gamma=0.9, learning_rate=1e-2)
    assert set(m) == {"td", "mc"} and m["td"].shape == m["mc"].shape == (2, 2, 3, 6, 6)  # agents, inits, C + 1
    np.testing.assert_array_equal(m["td"][:, :, 0], m["mc"][:, :, 0])  # the same fresh networks before fitting
    assert not np.allclose(m["td"][:, :, -1], m["mc"][:, :, -1])  # then the targets differ
    assert not np.allclose(m["td"][0, :, 0], m["td"][1, :, 0])  # each agent's networks have their own keys
    # agent 1, initialisation 0, fitted to Monte Carlo targets: its keys are entry 2 of the splits
    init_key, fit_key = (jax.random.split(k, 4)[2] for k in keys)
    one = jax.tree.map(lambda x: x[1], data)
    fitted = fits["mc"](fit_key, network.init(init_key, one["obs"][:1]), one)
    last = jax.tree.map(lambda x: x[-1], fitted)
    expected = interference.q_update_matrix(network.apply, last, batch, 0.9, 1e-2)
    np.testing.assert_allclose(m["mc"][1, 0, -1], expected, rtol=1e-4, atol=1e-6)


def test_envpool_names_get_one_pool_seed_per_run():
    assert envs.is_envpool("atari:Pong-v5") and envs.is_envpool("procgen:coinrun?num_levels=10")
    assert not envs.is_envpool("Breakout-MinAtar") and not envs.is_envpool("maze?num_levels=10")
    assert envs.seeded_env_name("atari:Pong-v5", 3) == "atari:Pong-v5?seed=3"
    assert envs.seeded_env_name("procgen:coinrun?num_levels=10", 1) == "procgen:coinrun?num_levels=10&seed=1"
    assert envs.seeded_env_name("atari:Pong-v5?seed=7", 1) == "atari:Pong-v5?seed=7"  # a pinned seed is kept
    assert envs.seeded_env_name("Breakout-MinAtar", 2) == "Breakout-MinAtar"


# A toy agent (SGD towards 1 from a random start) stands in for PPO/DQN: it needs no environment.
@dataclasses.dataclass(frozen=True)
class ToyConfig:
    env_name: str
    learning_rate: float = 0.1


def toy_trainer(config: ToyConfig) -> runner.Trainer:
    def update(w):
        w = w - config.learning_rate * (w - 1.0)
        return w, {"episode_return": -jnp.sum((w - 1.0) ** 2), "episodes": jnp.int32(1)}

    return runner.Trainer(
        lambda rng: jax.random.normal(rng, (3,)), update, lambda w: w, 10, updates_per_chunk=2, steps_per_update=1
    )


def test_train_seeds_runs_envpool_seeds_one_at_a_time_and_stacks_them(tmp_path):
    rngs = jax.random.split(jax.random.PRNGKey(0), 3)
    made = []

    def make(config):
        made.append(config.env_name)
        return toy_trainer(config)

    run = agents.train_seeds(ToyConfig("atari:Pong-v5"), make, rngs, tmp_path, progress=False)
    assert made == ["atari:Pong-v5?seed=0", "atari:Pong-v5?seed=1", "atari:Pong-v5?seed=2"]
    assert len(list(tmp_path.iterdir())) == 3  # one cached run per seed
    assert run.params.shape == (3, 11, 3) and run.metrics["episode_return"].shape == (3, 20)
    # the same as all seeds in one vmap (what MinAtar gets: one call, one cached run)
    together = agents.train_seeds(ToyConfig("Breakout-MinAtar"), make, rngs, tmp_path / "minatar", progress=False)
    assert made[3:] == ["Breakout-MinAtar"] and len(list((tmp_path / "minatar").iterdir())) == 1
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), run, together)
    again = agents.train_seeds(ToyConfig("atari:Pong-v5"), make, rngs, tmp_path, progress=False)  # from the cache
    jax.tree.map(np.testing.assert_array_equal, run, again)
    with pytest.raises(ValueError, match="no runs"):
        agents.stack_runs([])


def test_over_runs_in_slices_matches_one_vmap():
    tree = {"a": jnp.arange(2 * 5 * 3.0).reshape(2, 5, 3), "b": jnp.ones((2, 5))}

    def fn(t):
        return {"outer": jnp.outer(t["a"], t["a"]) + t["b"], "sum": t["a"].sum()}

    whole = agents.over_runs(fn, tree)
    for at_once in (1, 3, 10):
        sliced = agents.over_runs(fn, tree, at_once)
        assert sliced["outer"].shape == (2, 5, 3, 3) and sliced["sum"].shape == (2, 5)
        jax.tree.map(np.testing.assert_allclose, whole, sliced)


@pytest.mark.skipif(importlib.util.find_spec("envpool") is None, reason="envpool is not installed")
def test_probe_transitions_on_atari():
    batch = rollouts.random_transitions("atari:Breakout-v5", 4, 5, jax.random.PRNGKey(0))
    assert batch["obs"].shape == batch["next_obs"].shape == (4, 84, 84, 4) and batch["obs"].dtype == np.uint8
    assert batch["done"].shape == (4,) and batch["done"].dtype == np.float32
    network = QNetwork(4)
    params = network.init(jax.random.PRNGKey(1), batch["obs"])  # the Nature CNN, from the 84×84 frames
    assert interference.q_update_matrix(network.apply, params, batch, 0.99, 1e-3).shape == (4, 4)


def test_probe_set_matrices_measure_every_probe_set():
    budget = dataclasses.replace(get_profile("smoke").interference, states=8, probe_envs=2, probe_steps=4)
    q_net, ac_net = QNetwork(3), ActorCritic(3)
    obs = jnp.zeros((1, 10, 10, 4))
    keys = jax.random.split(jax.random.PRNGKey(8), 6).reshape(2, 3, -1)  # 2 seeds, 3 checkpoints
    q_params, ac_params = stacked(q_net, keys, obs), stacked(ac_net, keys, obs)
    sets = interference.probe_set_matrices(
        "Breakout-MinAtar", q_net.apply, q_params, ac_net.apply, ac_params, 0.9, 0.8, budget, jax.random.PRNGKey(9)
    )
    assert tuple(sets) == interference.PROBE_SETS
    play, random, own = sets.values()
    assert play.checkpoints == (0, 1, 2) and random.checkpoints == own.checkpoints == (0, 2)
    assert play.probes[0] is play.probes[1] and play.probes[0]["obs"].shape == (8, 10, 10, 4)  # 2 from each agent
    assert own.probes[0]["action"].shape == own.probes[1]["action"].shape == (2, 2, 8)  # each network's own
    assert all(u.shape == (2, 3, 8, 8) for u, _ in play.matrices.values())
    assert all(u.shape == k.shape == (2, 2, 8, 8) for s in (random, own) for u, k in s.matrices.values())
    # the random-play and own-state matrices at the last checkpoint are those of the last checkpoint's network
    last = jax.tree.map(lambda p: p[1, 2], q_params)
    mine = jax.tree.map(lambda x: x[1, 1], own.probes[0])
    expected = interference.q_update_matrix(q_net.apply, last, mine, 0.9, budget.learning_rate)
    np.testing.assert_allclose(own.matrices["DQN Q"][0][1, 1], expected, rtol=1e-4, atol=1e-7)
    expected = interference.q_update_matrix(q_net.apply, last, random.probes[0], 0.9, budget.learning_rate)
    np.testing.assert_allclose(random.matrices["DQN Q"][0][1, 1], expected, rtol=1e-4, atol=1e-7)
    stats = play.statistics()
    assert tuple(stats) == interference.AGENT_OUTPUTS and tuple(stats["DQN Q"]) == interference.STATISTICS
    actor = interference.interference_statistics(*play.matrices["PPO actor log π"])
    np.testing.assert_array_equal(stats["PPO actor log π"]["mean |cosine|"], actor["mean |cosine|"])
    middle = jax.tree.map(lambda p: p[0, 1], ac_params)  # agent play: every checkpoint, the shared probes
    critic = interference.actor_critic_problems(ac_net.apply, middle, play.probes[1], 0.8)["critic"]
    expected = interference.problem_matrices(critic, middle, budget.learning_rate)
    np.testing.assert_allclose(play.matrices["PPO critic V"][0][0, 1], expected[0], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(play.matrices["PPO critic V"][1][0, 1], expected[1], rtol=1e-4, atol=1e-6)


def test_game_control_fits_every_agent_with_the_budget(batch):
    budget = get_profile("smoke").interference  # 20 Adam steps, 2 checkpoints, 1 initialisation
    network = QNetwork(3)
    params = jax.vmap(network.init, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(10), 3), batch["obs"])
    matrices, size = interference.game_control(
        "Breakout-MinAtar", network, params, batch, 0.9, budget, jax.random.PRNGKey(11)
    )
    assert 0 < size <= budget.offline_envs * (budget.offline_env_steps - 1)
    assert matrices["td"].shape == matrices["mc"].shape == (3, 1, budget.offline_checkpoints + 1, 6, 6)
    np.testing.assert_array_equal(matrices["td"][:, :, 0], matrices["mc"][:, :, 0])
