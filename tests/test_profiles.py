"""Run profiles: choice by name, ``paper`` with named overrides, kinds of settings, the tables built from them."""

import dataclasses
import importlib.util
from operator import attrgetter
from pathlib import Path

import gymnax
import pytest

from tdgen import dashboard, profiles
from tdgen.envs import minatar
from tdgen.rl import agents

ROOT = Path(__file__).resolve().parents[1]
SMOKE, QUICK, GPU, PAPER = (profiles.PROFILES[n] for n in ("smoke", "quick", "gpu", "paper"))


def test_default_profile_is_quick(monkeypatch):
    monkeypatch.delenv(profiles.ENV_VAR, raising=False)
    assert profiles.get_profile().name == "quick"


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "Smoke")
    assert profiles.get_profile().name == "smoke"


def test_unknown_profile_is_named(monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "huge")
    with pytest.raises(profiles.UnknownProfileError, match=r"'huge'.*: gpu, gpu-smoke, paper, quick, smoke"):
        profiles.get_profile()


def test_profiles_are_immutable_and_ordered_by_budget():
    assert list(profiles.PROFILES) == ["paper", "gpu", "quick", "smoke", "gpu-smoke"]
    assert profiles.PROFILES["paper"] is profiles.PAPER
    with pytest.raises(AttributeError):
        QUICK.td.gamma = 0.5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        QUICK.agents.ppo.learning_rate = 0.5  # type: ignore[misc]
    assert SMOKE.td.td_seeds < QUICK.td.td_seeds == GPU.td.td_seeds < PAPER.td.td_seeds
    assert SMOKE.smoothness.grid_side < QUICK.smoothness.grid_side == GPU.smoothness.grid_side
    for steps in ("ppo_timesteps", "dqn_timesteps"):
        smoke, quick, gpu, paper = (getattr(p.agents, steps) for p in (SMOKE, QUICK, GPU, PAPER))
        assert smoke < quick < gpu < paper
    assert SMOKE.agents.seeds < QUICK.agents.seeds < GPU.agents.seeds == PAPER.agents.seeds


def test_interference_games_after_the_first_train_for_a_fraction_of_the_budget():
    budget, agent_budget = QUICK.interference, QUICK.agents
    first, other = budget.games[0], budget.games[1]
    assert budget.agent_budget(agent_budget, first) == agent_budget  # shared with claims 3 and 5: unchanged
    shortened = budget.agent_budget(agent_budget, other)
    assert shortened.ppo_timesteps == round(agent_budget.ppo_timesteps * budget.other_games_fraction)
    assert shortened.dqn_timesteps == round(agent_budget.dqn_timesteps * budget.other_games_fraction)
    assert shortened.ppo_timesteps < agent_budget.ppo_timesteps
    unshortened = dataclasses.replace(
        shortened, ppo_timesteps=agent_budget.ppo_timesteps, dqn_timesteps=agent_budget.dqn_timesteps
    )
    assert unshortened == agent_budget
    with pytest.raises(ValueError, match="not one of the interference games"):
        budget.agent_budget(agent_budget, "Seaquest-MinAtar")
    with pytest.raises(ValueError, match="other_games_fraction"):
        dataclasses.replace(budget, other_games_fraction=0.0)


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_level_teachers_share_the_ppo_hyperparameter_type(name):
    profile = profiles.PROFILES[name]
    distill = profile.distill
    teachers = distill.teacher_budget(profile.agents)
    assert teachers.seeds == distill.level_seeds
    assert (teachers.ppo_timesteps, teachers.ppo_num_envs) == (distill.ppo_timesteps, distill.ppo_num_envs)
    assert teachers.ppo is distill.ppo and isinstance(teachers.ppo, profiles.PPOHyperparameters)
    assert teachers.checkpoints == profile.agents.checkpoints
    config = agents.agent_config(profile, "PPO", distill.level_games[0])
    assert (config.learning_rate, config.gamma, config.clip_eps) == (distill.ppo.learning_rate, distill.ppo.gamma, 0.2)
    assert (config.total_timesteps, config.num_checkpoints) == (distill.ppo_timesteps, profile.agents.checkpoints)


def test_override_changes_only_the_named_settings_and_checks_them():
    changed = profiles.override(SMOKE, "tiny", td={"td_seeds": 4}, agents={"seeds": 1, "ppo": {"learning_rate": 1e-3}})
    assert changed.name == "tiny"
    assert (changed.td.td_seeds, changed.agents.seeds, changed.agents.ppo.learning_rate) == (4, 1, 1e-3)
    differences = profiles.profile_differences({"smoke": SMOKE, "tiny": changed})
    assert [s.path for s in differences] == ["td.td_seeds", "agents.seeds", "agents.ppo.learning_rate"]
    assert differences[-1].values == {"smoke": 5e-3, "tiny": 1e-3}
    assert SMOKE.td.td_seeds == 16  # the base is left as it is
    with pytest.raises(ValueError, match=r"profile 'tiny': agents\.ppo\.lr is not a setting; PPOHyperparameters has"):
        profiles.override(SMOKE, "tiny", agents={"ppo": {"lr": 1e-3}})
    with pytest.raises(ValueError, match=r"profile 'tiny': games is not a setting; Profile has name, smoothness"):
        profiles.override(SMOKE, "tiny", games=("Pong",))
    with pytest.raises(ValueError, match=r"td\.td_seeds = 16 changes nothing"):
        profiles.override(SMOKE, "tiny", td={"td_seeds": 16})
    with pytest.raises(ValueError, match=r"TDBudget\.td_seeds must be at least 1, got 0"):
        profiles.override(SMOKE, "tiny", td={"td_seeds": 0})


def test_the_profiles_are_paper_with_overrides():
    """Whatever no profile overrides is ``paper``'s: the settings equal at every profile are paper's."""
    settings = profiles.profile_settings()
    differing = {s.path for s in profiles.profile_differences()}
    assert {s.path for s in settings} > differing
    for setting in settings:
        if setting.path not in differing:
            assert set(map(repr, setting.values.values())) == {repr(attrgetter(setting.path)(PAPER))}


def test_every_setting_has_a_kind_and_a_readable_path():
    settings = profiles.profile_settings()
    assert len({s.path for s in settings}) == len(settings)
    assert {s.kind for s in settings} == set(profiles.KINDS)
    for setting in settings:
        for name, value in setting.values.items():
            assert attrgetter(setting.path)(profiles.PROFILES[name]) == value
    kinds = {s.path: s.kind for s in settings}
    for group in ("agents.ppo", "agents.dqn", "distill.ppo"):  # PPO's and DQN's hyper-parameters, apart from budgets
        assert {kinds[p] for p in kinds if p.rpartition(".")[0] == group} == {profiles.HYPERPARAMETER}
    assert kinds["agents.ppo_timesteps"] == kinds["agents.seeds"] == kinds["distill.ppo_num_envs"] == profiles.BUDGET
    assert kinds["critical.learning_rate"] == kinds["td.nn_hidden"] == profiles.HYPERPARAMETER
    assert kinds["interference.games"] == kinds["distill.level_games"] == profiles.GAMES


def test_every_claim_has_its_own_statistics_settings():
    statistics = [s.path for s in profiles.profile_settings() if s.kind == profiles.STATISTICS]
    claims = ("td", "critical", "interference", "distill")  # claims 2 to 5 (claim 1's jackknife draws nothing)
    assert statistics == [f"{group}.bootstrap_resamples" for group in claims]


def test_differences_list_what_each_profile_changes():
    rows = {s.path: s for s in profiles.profile_differences()}
    ppo_rate = rows["agents.ppo.learning_rate"]
    assert (ppo_rate.group, ppo_rate.field, ppo_rate.kind) == ("agents.ppo", "learning_rate", profiles.HYPERPARAMETER)
    assert ppo_rate.values == {"paper": 2.5e-4, "gpu": 5e-3, "quick": 5e-3, "smoke": 5e-3, "gpu-smoke": 5e-3}
    assert list(rows["agents.ppo.clip_eps"].values.values()) == [0.1, 0.2, 0.2, 0.2, 0.2]
    assert rows["agents.seeds"].values == {"paper": 10, "gpu": 10, "quick": 5, "smoke": 2, "gpu-smoke": 2}
    assert "td.gamma" not in rows and "agents.ppo.gamma" not in rows  # the same at every profile
    for setting in rows.values():
        assert len({repr(v) for v in setting.values.values()}) > 1


def test_profiles_table_lists_every_setting_with_its_kind():
    table = dashboard.profiles_table()
    assert table.startswith("| Setting | Kind | `paper` | `gpu` | `quick` | `smoke` | `gpu-smoke` |")
    assert "| `td.gamma` | hyper-parameter | 0.9 | 0.9 | 0.9 | 0.9 | 0.9 |" in table
    quick_noise = "0, 0.01, 0.02, 0.05, 0.1"
    noise = f"| `distill.noise_levels` | budget | 0, 0.02, 0.05, 0.1, 0.2 | {quick_noise} | {quick_noise} | 0, 0.05 |"
    assert noise + " 0, 0.05 |" in table
    assert (
        "`critical.pretrain_steps`" in table and "`interference.states`" in table and "`smoothness.grid_side`" in table
    )
    assert table.count("\n") == 1 + len(profiles.profile_settings())  # header, rule, one row per setting


def test_differences_table_is_what_the_reproducing_page_shows():
    table = dashboard.profiles_table(differences_only=True)
    assert "| `agents.ppo.learning_rate` | hyper-parameter | 0.00025 | 0.005 | 0.005 | 0.005 | 0.005 |" in table
    assert "| `agents.seeds` | budget | 10 | 10 | 5 | 2 | 2 |" in table
    assert "| `td.bootstrap_resamples` | statistics | 2000 | 1000 | 1000 | 100 | 100 |" in table
    assert "`td.gamma`" not in table
    assert table.count("\n") == 1 + len(profiles.profile_differences())
    assert "{profile-differences}" in (ROOT / "book" / "reproducing.md").read_text()


def test_gpu_is_quick_with_more_runs_all_four_minatar_games_and_longer_training():
    changed = {s.path: s.values for s in profiles.profile_differences({"quick": QUICK, "gpu": GPU})}
    assert all(not path.startswith(("smoothness.", "td.")) for path in changed)  # claims 1 and 2 as at quick
    assert all(".ppo." not in path and ".dqn." not in path for path in changed)  # the same hyper-parameters
    assert set(GPU.interference.games) == set(minatar.MINATAR_ENVS) and GPU.interference.other_games_fraction == 1.0
    assert GPU.agents.seeds == GPU.interference.seeds == GPU.distill.level_seeds == 10  # 10 runs per agent and game
    assert GPU.agents.dqn_timesteps >= 1_000_000 and GPU.critical.seeds >= 10


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_every_agent_of_every_profile_has_a_valid_config(name):
    """Each profile's agents build their configs, which check what a budget alone cannot (updates per checkpoint)."""
    profile = profiles.PROFILES[name]
    for game in profile.interference.games:
        for algorithm in agents.ALGORITHMS:
            config = agents.agent_config(profile, algorithm, game)
            assert config.env_name == game and config.num_checkpoints == profile.agents.checkpoints
    for game in profile.distill.level_games:
        assert agents.agent_config(profile, "PPO", game).total_timesteps == profile.distill.ppo_timesteps


def test_gpu_smoke_plays_gpus_games_at_smokes_budgets():
    gpu_smoke = profiles.PROFILES["gpu-smoke"]
    kept = {"interference.offline_env_steps"}  # Freeway's episodes must end in the control's play
    for setting in profiles.profile_settings({"gpu": GPU, "smoke": SMOKE, "gpu-smoke": gpu_smoke}):
        expected = setting.values["gpu" if setting.kind == profiles.GAMES or setting.path in kept else "smoke"]
        assert setting.values["gpu-smoke"] == expected, setting.path
    with pytest.raises(ValueError, match=r"keep: interference\.offline_steps_x is not a setting"):
        profiles.at_budgets_of(GPU, SMOKE, "x", keep=("interference.offline_steps_x",))
    assert gpu_smoke.interference.games != SMOKE.interference.games  # so the test runs something smoke does not
    assert set(profiles.TEST_PROFILES) == {"smoke", "gpu-smoke"} < set(profiles.PROFILES)


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_freeway_episodes_end_within_the_controls_play(name):
    """Freeway-MinAtar's episodes always run to its time limit; the TD-versus-MC control needs finished ones."""
    interference = profiles.PROFILES[name].interference
    if "Freeway-MinAtar" in interference.games:
        time_limit = gymnax.make("Freeway-MinAtar")[1].max_steps_in_episode
        assert interference.offline_env_steps > time_limit


def test_book_extension_registers_the_profile_directives():
    spec = importlib.util.spec_from_file_location("tdgen_book", ROOT / "book" / "_ext" / "tdgen_book.py")
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)

    class App:
        def __init__(self):
            self.directives = {}

        def add_directive(self, name, directive):
            self.directives[name] = directive

        def connect(self, event, callback):
            pass

    app = App()
    extension.setup(app)
    assert app.directives["profile-differences"] is extension.ProfileDifferences
    assert app.directives["profiles-table"] is extension.ProfilesTable
