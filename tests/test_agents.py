import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tdgen.profiles import get_profile
from tdgen.rl import dqn, networks, ppo, runner

SMOKE = get_profile("smoke").agents


def test_patches_match_a_valid_3x3_convolution():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 10, 10, 4))
    kernel = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 4, 16))
    conv = jax.lax.conv_general_dilated(x, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    np.testing.assert_allclose(networks.patches_3x3(x) @ kernel.reshape(36, 16), conv, rtol=1e-5, atol=1e-5)


def test_network_shapes():
    obs = jnp.zeros((5, 10, 10, 4), jnp.uint8)
    q_net, ac_net = networks.QNetwork(3), networks.ActorCritic(6)
    q = jax.eval_shape(lambda: q_net.apply(q_net.init(jax.random.PRNGKey(0), obs), obs))
    logits, value = jax.eval_shape(lambda: ac_net.apply(ac_net.init(jax.random.PRNGKey(0), obs), obs))
    assert q.shape == (5, 3) and logits.shape == (5, 6) and value.shape == (5,)


def n_params(module, shape):
    params = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros(shape, jnp.uint8))
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(params)), params["params"]


def test_torso_follows_the_environment():
    assert networks.torso_for("Breakout-MinAtar") == "minatar"
    assert networks.torso_for("atari:Breakout-v5") == "nature"
    assert networks.torso_for("procgen:coinrun?num_levels=10") == "impala"
    # The MinAtar parameter tree keeps its names (cached runs and notebooks index it).
    _, params = n_params(networks.QNetwork(6), (1, 10, 10, 4))
    assert set(params) == {"MinAtarTorso_0", "Dense_0"}
    with pytest.raises(ValueError, match="unknown torso"):
        n_params(networks.QNetwork(6, torso="resnet"), (1, 10, 10, 4))


def test_nature_cnn_shapes_and_parameter_count():
    obs = jnp.zeros((5, 84, 84, 4), jnp.uint8)
    q_net, ac_net = networks.QNetwork(4), networks.ActorCritic(18)
    q = jax.eval_shape(lambda: q_net.apply(q_net.init(jax.random.PRNGKey(0), obs), obs))
    logits, value = jax.eval_shape(lambda: ac_net.apply(ac_net.init(jax.random.PRNGKey(0), obs), obs))
    assert q.shape == (5, 4) and logits.shape == (5, 18) and value.shape == (5,)
    # Convolutions 84 -> 20 -> 9 -> 7: (8·8·4+1)·32 + (4·4·32+1)·64 + (3·3·64+1)·64 + (7·7·64+1)·512.
    torso = 8224 + 32832 + 36928 + 1606144
    count, params = n_params(q_net, (1, 84, 84, 4))
    assert set(params) == {"NatureCNN_0", "Dense_0"} and count == torso + 513 * 4 == 1_686_180
    assert n_params(networks.QNetwork(6, torso="nature"), (1, 84, 84, 4))[0] == torso + 513 * 6


def test_impala_cnn_shapes_and_parameter_count():
    obs = jnp.zeros((5, 64, 64, 3), jnp.uint8)
    ac_net = networks.ActorCritic(15)
    logits, value = jax.eval_shape(lambda: ac_net.apply(ac_net.init(jax.random.PRNGKey(0), obs), obs))
    assert logits.shape == (5, 15) and value.shape == (5,)
    # Stacks (in -> out channels) 3 -> 16, 16 -> 32, 32 -> 32: a 3×3 conv and four 3×3 convs
    # (two residual blocks) each; 64 -> 32 -> 16 -> 8 pixels; dense 8·8·32 -> 256.
    stack = lambda c_in, c: (9 * c_in + 1) * c + 4 * (9 * c + 1) * c
    torso = stack(3, 16) + stack(16, 32) + stack(32, 32) + (8 * 8 * 32 + 1) * 256
    count, params = n_params(ac_net, (1, 64, 64, 3))
    assert torso == 622_144 and count == torso + 257 * 15 + 257
    assert set(params) == {"ImpalaCNN_0", "Dense_0", "Dense_1"}


@pytest.mark.parametrize("algo", [ppo, dqn])
def test_train_vmaps_over_seeds(algo):
    config_class = ppo.PPOConfig if algo is ppo else dqn.DQNConfig
    config = config_class.from_budget(SMOKE, "Breakout-MinAtar")
    run = jax.vmap(algo.make_train(config))(jax.random.split(jax.random.PRNGKey(0), SMOKE.seeds))
    kernel = run.params["params"]["MinAtarTorso_0"]["Dense_1"]["kernel"]
    assert kernel.shape == (SMOKE.seeds, SMOKE.checkpoints + 1, 1024, 128)
    assert not np.allclose(kernel[:, 0], kernel[:, -1])  # the parameters moved
    assert not np.allclose(kernel[0, -1], kernel[1, -1])  # seeds differ
    for values in run.metrics.values():
        assert values.shape == (SMOKE.seeds, config.num_updates)
    assert np.isfinite(runner.final_return(run.metrics)).all()


def test_progress_is_reported_from_inside_the_loop_once_for_all_seeds(tmp_path, monkeypatch):
    trainer = toy_trainer(ToyConfig())
    reports = []
    monkeypatch.setitem(runner._SINKS, id(trainer), reports.append)
    rngs = jax.random.split(jax.random.PRNGKey(0), 3)
    with_bar = jax.block_until_ready(jax.vmap(runner.make_train(trainer, progress_every=2))(rngs))
    jax.effects_barrier()
    # chunks of 3 updates run as a block of 2 and a block of 1, each reporting once (not per seed)
    assert sorted(reports) == [u for k in range(10) for u in (3 * k + 2, 3 * k + 3)]
    without = jax.vmap(runner.make_train(trainer, progress=False))(rngs)
    jax.tree.map(np.testing.assert_array_equal, with_bar, without)  # the reports change nothing
    reports.clear()
    runner.run_cached(ToyConfig(), trainer, rngs, tmp_path, progress=False)
    assert reports == []


def test_configs_reject_budgets_too_small_for_the_checkpoints():
    with pytest.raises(ValueError, match="num_checkpoints"):
        ppo.PPOConfig(total_timesteps=1_000, num_envs=8, num_steps=16)
    with pytest.raises(ValueError, match="num_minibatches"):
        ppo.PPOConfig(num_envs=3, num_steps=3)
    with pytest.raises(ValueError, match="target_update_interval"):
        dqn.DQNConfig(num_envs=16, target_update_interval=8)


# A toy trainer (SGD on a quadratic) exercises the chunked cache without compiling a network.
@dataclasses.dataclass(frozen=True)
class ToyConfig:
    learning_rate: float = 0.1


class ToyState(NamedTuple):
    params: dict
    opt_state: optax.OptState
    step: jax.Array


def toy_trainer(config: ToyConfig, num_checkpoints: int = 10) -> runner.Trainer:
    tx = optax.adam(config.learning_rate)

    def init(rng):
        params = {"w": jax.random.normal(rng, (3,))}
        return ToyState(params, tx.init(params), jnp.int32(0))

    def update(state):
        loss, grads = jax.value_and_grad(lambda p: jnp.sum((p["w"] - 1.0) ** 2))(state.params)
        updates, opt_state = tx.update(grads, state.opt_state)
        metrics = {"episode_return": -loss, "episodes": jnp.int32(1)}
        return ToyState(optax.apply_updates(state.params, updates), opt_state, state.step + 1), metrics

    return runner.Trainer(init, update, lambda s: s.params, num_checkpoints, updates_per_chunk=3, steps_per_update=1)


def test_scan_train_and_cached_chunks_agree(tmp_path):
    rngs = jax.random.split(jax.random.PRNGKey(0), 2)
    trainer = toy_trainer(ToyConfig())
    scanned = jax.vmap(runner.make_train(trainer))(rngs)
    cached, folder = runner.run_cached(ToyConfig(), trainer, rngs, tmp_path, progress=False)
    assert cached.params["w"].shape == (2, 11, 3) and cached.metrics["episode_return"].shape == (2, 30)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), scanned, cached)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "result.msgpack"]


def test_finished_run_is_loaded_not_retrained(tmp_path, monkeypatch):
    rngs = jax.random.split(jax.random.PRNGKey(0), 2)
    first, folder = runner.run_cached(ToyConfig(), toy_trainer(ToyConfig()), rngs, tmp_path, progress=False)

    def no_saving(*args):
        raise AssertionError("a cached run must not train or save")

    monkeypatch.setattr(runner, "_save", no_saving)
    again, folder_again = runner.run_cached(ToyConfig(), toy_trainer(ToyConfig()), rngs, tmp_path, progress=False)
    assert folder_again == folder
    jax.tree.map(np.testing.assert_array_equal, first, again)


def test_cache_key_depends_on_config_and_seeds():
    rngs = jax.random.split(jax.random.PRNGKey(0), 2)
    key = runner.cache_key(ToyConfig(), rngs)
    assert key.startswith("ToyConfig-") and key == runner.cache_key(ToyConfig(), rngs)
    assert key != runner.cache_key(ToyConfig(learning_rate=0.2), rngs)
    assert key != runner.cache_key(ToyConfig(), rngs[:1])
    with pytest.raises(TypeError, match="dataclass"):
        runner.cache_key({"learning_rate": 0.1}, rngs)


def interrupt_after(monkeypatch, n_saves: int) -> list[str]:
    """Make ``runner._save`` raise KeyboardInterrupt after ``n_saves`` successful saves; return the saved names."""
    saved, save = [], runner._save

    def flaky(path, tree):
        if len(saved) == n_saves:
            raise KeyboardInterrupt
        save(path, tree)
        saved.append(path.name)

    monkeypatch.setattr(runner, "_save", flaky)
    return saved


@pytest.mark.parametrize("make", [lambda: (ToyConfig(), toy_trainer(ToyConfig())), "dqn"])
def test_interrupted_run_resumes_from_last_chunk(tmp_path, monkeypatch, make):
    if make == "dqn":  # the full DQN state: flax TrainState, optax state and the flashbax replay buffer
        config = dataclasses.replace(dqn.DQNConfig.from_budget(SMOKE), total_timesteps=160)
        trainer = dqn.make_trainer(config)
    else:
        config, trainer = make()
    rngs = jax.random.split(jax.random.PRNGKey(0), 2)
    reference, _ = runner.run_cached(config, trainer, rngs, tmp_path / "reference", progress=False)

    saved = interrupt_after(monkeypatch, 1 + 3 * 3)  # params_0, then three whole chunks
    with pytest.raises(KeyboardInterrupt):
        runner.run_cached(config, trainer, rngs, tmp_path / "run", progress=False, checkpoint_overhead=None)
    assert saved[-1] == "state.msgpack"
    monkeypatch.undo()

    saved = interrupt_after(monkeypatch, 10_000)
    resumed, _ = runner.run_cached(config, trainer, rngs, tmp_path / "run", progress=False)
    assert saved[0] == "params_4.msgpack" and "params_0.msgpack" not in saved
    jax.tree.map(np.testing.assert_array_equal, reference, resumed)


def test_sparse_state_checkpoints_resume_from_the_last_one(tmp_path, monkeypatch):
    config, trainer = ToyConfig(), toy_trainer(ToyConfig())
    rngs = jax.random.split(jax.random.PRNGKey(0), 2)
    reference, _ = runner.run_cached(config, trainer, rngs, tmp_path / "reference", progress=False)
    # A negligible overhead allowance: the state is written after the first chunk only.
    saved = interrupt_after(monkeypatch, 1 + 3 + 2 * 2)  # params_0, chunk 1 with the state, chunks 2 and 3
    with pytest.raises(KeyboardInterrupt):
        runner.run_cached(config, trainer, rngs, tmp_path / "run", progress=False, checkpoint_overhead=1e-12)
    assert saved.count("state.msgpack") == 1 and saved[-1] == "metrics_3.msgpack"
    monkeypatch.undo()
    saved = interrupt_after(monkeypatch, 10_000)
    resumed, _ = runner.run_cached(config, trainer, rngs, tmp_path / "run", progress=False)
    assert saved[0] == "params_2.msgpack"  # chunks 2 and 3 are recomputed
    jax.tree.map(np.testing.assert_array_equal, reference, resumed)


def test_mismatched_checkpoint_is_reported(tmp_path):
    rngs = jax.random.split(jax.random.PRNGKey(0), 2)
    _, folder = runner.run_cached(ToyConfig(), toy_trainer(ToyConfig()), rngs, tmp_path, progress=False)
    with pytest.raises(ValueError, match="does not match this run"):
        runner.run_cached(ToyConfig(), toy_trainer(ToyConfig(), num_checkpoints=12), rngs, tmp_path, progress=False)
    assert folder.exists()


SHARDED_RUN = """
import jax, numpy as np, tempfile
from tests.test_agents import ToyConfig, toy_trainer
from tdgen.rl import runner
assert len(jax.devices()) == 2, jax.devices()
rngs = jax.random.split(jax.random.PRNGKey(0), 4)
sharded = runner.shard_seeds(rngs)
assert len(sharded.sharding.device_set) == 2
trainer = toy_trainer(ToyConfig())
state = jax.jit(jax.vmap(trainer.init))(sharded)
assert len(state.params["w"].sharding.device_set) == 2  # each device holds its seeds' state
run, _ = runner.run_cached(ToyConfig(), trainer, rngs, tempfile.mkdtemp(), progress=False)
single = jax.vmap(runner.make_train(trainer))(rngs)
np.testing.assert_allclose(run.params["w"], single.params["w"], rtol=1e-6)
try:
    runner.shard_seeds(rngs[:3])
except ValueError as error:
    assert "multiple of 2" in str(error)
else:
    raise AssertionError("3 seeds on 2 devices must be refused")
print("sharded ok")
"""


def test_seed_axis_is_sharded_over_several_devices():
    # XLA's device count is fixed when JAX starts, so the check runs in a fresh process.
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", SHARDED_RUN], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sharded ok" in result.stdout


def test_from_budget_keeps_minatar_settings_and_gives_atari_ones_at_paper():
    quick, paper = get_profile("quick").agents, get_profile("paper").agents
    # quick: PureJaxRL's MinAtar settings, the configs' defaults (their cache keys must not move)
    assert ppo.PPOConfig.from_budget(quick) == ppo.PPOConfig(
        total_timesteps=1_000_000, num_envs=64, num_steps=128, num_checkpoints=10
    )
    assert dqn.DQNConfig.from_budget(quick) == dqn.DQNConfig(total_timesteps=500_000, num_checkpoints=10)
    # paper: CleanRL's Atari settings
    atari_ppo = {"learning_rate": 2.5e-4, "num_envs": 8, "num_steps": 128, "num_minibatches": 4, "clip_eps": 0.1}
    p = ppo.PPOConfig.from_budget(paper, "atari:Breakout-v5")
    assert {k: getattr(p, k) for k in atari_ppo} == atari_ppo and p.update_epochs == 4
    atari_dqn = {"learning_rate": 1e-4, "buffer_size": 1_000_000, "learning_starts": 80_000, "eps_finish": 0.01}
    d = dqn.DQNConfig.from_budget(paper, "atari:Breakout-v5")
    assert {k: getattr(d, k) for k in atari_dqn} == atari_dqn and d.target_update_interval == 1_000
    assert d.num_envs / d.gradient_steps == 4 and d.eps_anneal_steps == d.total_timesteps // 10
