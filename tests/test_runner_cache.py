"""The agent cache: keys that cover everything that determines a run, and entries that are checked before use."""

import ast
import dataclasses
import hashlib
import json
import shutil
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen.profiles import get_profile
from tdgen.rl import dqn, runner

RNGS = jax.random.split(jax.random.PRNGKey(0), 2)


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    learning_rate: float = 0.1


def tiny_trainer(config: TinyConfig) -> runner.Trainer:
    """Gradient descent on ``|w - 1|²`` from a random ``w``: 10 chunks of 3 updates, compiled in a moment."""

    def update(w):
        w = w - config.learning_rate * 2.0 * (w - 1.0)
        return w, {"episode_return": -jnp.sum((w - 1.0) ** 2), "episodes": jnp.int32(1)}

    return runner.Trainer(lambda rng: jax.random.normal(rng, (3,)), update, lambda w: w, 10, 3, 1)


def tiny_dqn() -> tuple[dqn.DQNConfig, runner.Trainer]:
    """A real DQN (network, optimiser and replay buffer in the state) on 160 environment steps."""
    config = dataclasses.replace(dqn.DQNConfig.from_budget(get_profile("smoke").agents), total_timesteps=160)
    return config, dqn.make_trainer(config)


def run(config, trainer, cache_dir: Path, **kwargs) -> tuple[runner.Run, Path]:
    return runner.run_cached(config, trainer, RNGS, cache_dir, progress=False, **kwargs)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def assert_same(a: runner.Run, b: runner.Run) -> None:
    jax.tree.map(np.testing.assert_array_equal, a, b)


def assert_reported(record: list[warnings.WarningMessage], *fragments: str) -> None:
    """Exactly one :class:`runner.CacheWarning`, one line long, holding every fragment."""
    messages = [str(w.message) for w in record if issubclass(w.category, runner.CacheWarning)]
    assert len(messages) == 1, messages
    assert "\n" not in messages[0]
    for fragment in fragments:
        assert fragment in messages[0], messages[0]


def interrupted_run(config, trainer, cache_dir: Path, monkeypatch, chunks: int) -> Path:
    """Stop a run, writing the state after every chunk, once ``chunks`` chunks are saved; return its folder."""
    saved, save = [], runner._save

    def interrupted(path, tree):  # params_0, then params, metrics and state of each chunk
        if len(saved) == 1 + 3 * chunks:
            raise KeyboardInterrupt
        save(path, tree)
        saved.append(path.name)

    monkeypatch.setattr(runner, "_save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(config, trainer, cache_dir, checkpoint_overhead=None)
    monkeypatch.undo()
    return cache_dir / runner.cache_key(config, RNGS)


def load_silently(config, trainer, cache_dir: Path) -> runner.Run:
    """Load a finished run, failing on any warning and on any training."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded, _ = run(config, trainer, cache_dir)
    return loaded


def test_manifest_holds_the_key_ingredients_and_a_checksum_per_file(tmp_path):
    config = TinyConfig()
    _, folder = run(config, tiny_trainer(config), tmp_path)
    manifest = json.loads((folder / runner.MANIFEST).read_text())
    assert manifest["key"] == runner.key_ingredients(config, RNGS)
    assert set(manifest["key"]) == {"config", "seeds", "source", "versions"}
    assert manifest["files"] == {"result.msgpack": hashlib.sha256((folder / "result.msgpack").read_bytes()).hexdigest()}


def test_flipped_result_is_reported_and_retrained(tmp_path):
    config, trainer = TinyConfig(), tiny_trainer(TinyConfig())
    clean, folder = run(config, trainer, tmp_path / "clean")
    _, folder = run(config, trainer, tmp_path / "cache")
    flip_a_byte(folder / "result.msgpack")
    with pytest.warns(runner.CacheWarning) as record:
        again, _ = run(config, trainer, tmp_path / "cache")
    assert_reported(record, str(folder), "result.msgpack fails its checksum", "training it again")
    assert_same(again, clean)
    assert_same(load_silently(config, trainer, tmp_path / "cache"), clean)  # the retrained entry is sound


@pytest.mark.parametrize("make", ["tiny", "dqn"])
def test_flipped_state_of_an_interrupted_run_restarts_it(tmp_path, monkeypatch, make):
    config, trainer = (TinyConfig(), tiny_trainer(TinyConfig())) if make == "tiny" else tiny_dqn()
    clean, _ = run(config, trainer, tmp_path / "clean")
    folder = interrupted_run(config, trainer, tmp_path / "cache", monkeypatch, chunks=3)
    flip_a_byte(folder / "state.msgpack")
    with pytest.warns(runner.CacheWarning) as record:
        resumed, _ = run(config, trainer, tmp_path / "cache")
    assert_reported(record, "state.msgpack fails its checksum")
    assert_same(resumed, clean)


def test_checkpoints_are_checked_on_resume(tmp_path, monkeypatch):
    config, trainer = TinyConfig(), tiny_trainer(TinyConfig())
    clean, _ = run(config, trainer, tmp_path / "clean")
    folder = interrupted_run(config, trainer, tmp_path / "cache", monkeypatch, chunks=2)
    (folder / "params_0.msgpack").unlink()
    with pytest.warns(runner.CacheWarning) as record:
        resumed, _ = run(config, trainer, tmp_path / "cache")
    assert_reported(record, "params_0.msgpack is unreadable (No such file or directory)")
    assert_same(resumed, clean)


def test_result_of_another_config_is_detected(tmp_path):
    config, other = TinyConfig(), TinyConfig(learning_rate=0.2)
    clean, folder = run(config, tiny_trainer(config), tmp_path)
    _, other_folder = run(other, tiny_trainer(other), tmp_path)
    shutil.copy(other_folder / "result.msgpack", folder / "result.msgpack")  # same shapes, other numbers
    with pytest.warns(runner.CacheWarning) as record:
        again, _ = run(config, tiny_trainer(config), tmp_path)
    assert_reported(record, "result.msgpack fails its checksum")
    assert_same(again, clean)
    for name in (runner.MANIFEST, "result.msgpack"):  # the whole entry of the other config
        shutil.copy(other_folder / name, folder / name)
    with pytest.warns(runner.CacheWarning) as record:
        again, _ = run(config, tiny_trainer(config), tmp_path)
    assert_reported(record, "config.json was written for another run: its config differs")
    assert_same(again, clean)


def test_unreadable_manifest_and_missing_result_are_detected(tmp_path):
    config, trainer = TinyConfig(), tiny_trainer(TinyConfig())
    clean, folder = run(config, trainer, tmp_path)
    (folder / runner.MANIFEST).write_text('{"key": ')
    with pytest.warns(runner.CacheWarning) as record:
        again, _ = run(config, trainer, tmp_path)
    assert_reported(record, "config.json is unreadable")
    assert_same(again, clean)
    (folder / "result.msgpack").unlink()
    with pytest.warns(runner.CacheWarning) as record:
        again, _ = run(config, trainer, tmp_path)
    assert_reported(record, "result.msgpack is unreadable (No such file or directory)")
    assert_same(again, clean)


def test_source_hash_follows_the_trainer_source(tmp_path, monkeypatch):
    copy = tmp_path / "tdgen"
    shutil.copytree(runner.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert runner.source_hash(copy) == runner.source_hash()
    (copy / "plotting" / "__init__.py").write_text("# not a training module\n")
    assert runner.source_hash(copy) == runner.source_hash()
    key = runner.cache_key(TinyConfig(), RNGS)
    ppo_source = copy / "rl" / "ppo.py"
    flipped = ppo_source.read_text().replace("- config.ent_coef * entropy", "+ config.ent_coef * entropy")
    assert flipped != ppo_source.read_text()  # the tester's edit: the entropy bonus with the other sign
    ppo_source.write_text(flipped)
    assert runner.source_hash(copy) != runner.source_hash()
    monkeypatch.setattr(runner, "SOURCE_HASH", runner.source_hash(copy))  # a process that imported the edit
    assert runner.cache_key(TinyConfig(), RNGS) != key


def test_source_edited_after_import_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "SOURCE_HASH", "0" * 64)  # what the process imported is not what is on disk
    with pytest.warns(RuntimeWarning, match="changed since it was imported"):
        run(TinyConfig(), tiny_trainer(TinyConfig()), tmp_path)


def test_versions_change_the_key(monkeypatch):
    versions = runner.library_versions()
    assert set(versions) == {"python", *runner.LIBRARIES} and versions["jax"] == jax.__version__
    key = runner.cache_key(TinyConfig(), RNGS)
    monkeypatch.setattr(runner, "library_versions", lambda: {**versions, "jaxlib": "0.0.1"})
    assert runner.cache_key(TinyConfig(), RNGS) != key


def test_training_sources_hold_every_tdgen_module_they_import():
    sources = runner.training_sources()
    assert sources == sorted(sources) and all(path.is_file() for path in sources)
    imported = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tdgen"):
                imported.add(node.module)
    # profiles reaches an agent only through its config (in the key); paths only writes files
    assert imported - set(runner.TRAINING_MODULES) <= {"tdgen.profiles", "tdgen.paths"}
