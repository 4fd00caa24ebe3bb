"""Every bad input gets a named error: a table of bad configs, budgets, names and samples.

Each row is ``(callable, kwargs, exception type, regex)``; the message must match the
regex, which names the field (or argument) and, where there is one, the bad value.
Bad configs are valid ones with one field changed (``dataclasses.replace``).  Nothing
here trains: the rows only construct configs or call cheap functions.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings

import numpy as np
import pytest

from tdgen import distillation, envs, profiles, stats
from tdgen.envs import maze
from tdgen.rl import agents, dqn, offline, policies, ppo, runner

NAN, INF = math.nan, math.inf
SMOKE = profiles.PROFILES["smoke"]
SMOKE_OVERRIDE = functools.partial(profiles.override, SMOKE, "x")  # smoke, renamed "x", with changes
PPO, DQN = ppo.PPOConfig(), dqn.DQNConfig()


def changed(valid: object):
    """``replace(valid, **kwargs)``: the callable of a row that changes fields of a valid config."""
    return functools.partial(dataclasses.replace, valid)


def q_apply(params, obs):
    """A stand-in network: nothing is applied, only the arguments are checked."""
    return obs


def fit(**kwargs):
    """:func:`offline.make_offline_fit` with valid arguments, some replaced by ``kwargs``."""
    args = {
        "apply": q_apply,
        "targets": "td",
        "gamma": 0.99,
        "num_steps": 60,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "target_every": 10,
        "num_checkpoints": 3,
    }
    return offline.make_offline_fit(**{**args, **kwargs})


def distiller(**kwargs):
    """:func:`distillation.make_distill` with valid arguments, some replaced by ``kwargs``."""
    args = {
        "apply": q_apply,
        "loss": distillation.q_regression_loss,
        "num_steps": 10,
        "batch_size": 8,
        "learning_rate": 1e-3,
    }
    return distillation.make_distill(**{**args, **kwargs})


def judge(**kwargs):
    """:func:`stats.judge` with valid arguments, some replaced by ``kwargs``."""
    return stats.judge(**{"value": 1.0, "ci": (0.5, 1.5), "threshold": 0.0, "direction": ">=", **kwargs})


def row(target, exception, pattern, **kwargs):
    """One table row, with an id naming what is called and what is changed."""
    name = getattr(target, "__name__", None) or type(target.args[0]).__name__
    return pytest.param(target, kwargs, exception, pattern, id=f"{name}-{'-'.join(kwargs) or 'call'}")


PPO_ROWS = [
    row(changed(PPO), ValueError, r"PPOConfig\.num_minibatches must be at least 1, got 0", num_minibatches=0),
    row(changed(PPO), ValueError, r"not divisible by num_minibatches = 3", num_minibatches=3),
    row(changed(PPO), TypeError, r"PPOConfig\.num_envs must be an integer, got 2\.5", num_envs=2.5),
    row(changed(PPO), TypeError, r"PPOConfig\.num_envs must be an integer, got True", num_envs=True),
    row(changed(PPO), TypeError, r"PPOConfig\.num_envs must be an integer, got '64'", num_envs="64"),
    row(changed(PPO), ValueError, r"PPOConfig\.num_envs must be at least 1, got 0", num_envs=0),
    row(changed(PPO), ValueError, r"PPOConfig\.num_steps must be at least 1, got -1", num_steps=-1),
    row(changed(PPO), ValueError, r"PPOConfig\.total_timesteps must be at least 1, got 0", total_timesteps=0),
    row(changed(PPO), ValueError, r"total_timesteps = 1000 gives 0 updates.*num_checkpoints", total_timesteps=1000),
    row(changed(PPO), ValueError, r"PPOConfig\.update_epochs must be at least 1, got 0", update_epochs=0),
    row(changed(PPO), TypeError, r"PPOConfig\.update_epochs must be an integer, got 4\.0", update_epochs=4.0),
    row(changed(PPO), ValueError, r"PPOConfig\.num_checkpoints must be at least 1, got 0", num_checkpoints=0),
    row(changed(PPO), ValueError, r"PPOConfig\.learning_rate must lie in \(0, inf\), got -1", learning_rate=-1),
    row(changed(PPO), ValueError, r"PPOConfig\.learning_rate must lie in \(0, inf\), got 0\.0", learning_rate=0.0),
    row(changed(PPO), ValueError, r"PPOConfig\.learning_rate must be finite, got nan", learning_rate=NAN),
    row(changed(PPO), ValueError, r"PPOConfig\.learning_rate must be finite, got inf", learning_rate=INF),
    row(changed(PPO), TypeError, r"PPOConfig\.learning_rate must be a real number, got '5e-3'", learning_rate="5e-3"),
    row(changed(PPO), ValueError, r"PPOConfig\.gamma must lie in \[0, 1\], got 1\.5", gamma=1.5),
    row(changed(PPO), ValueError, r"PPOConfig\.gamma must lie in \[0, 1\], got -0\.1", gamma=-0.1),
    row(changed(PPO), ValueError, r"PPOConfig\.gamma must be finite, got nan", gamma=NAN),
    row(changed(PPO), ValueError, r"PPOConfig\.gae_lambda must lie in \[0, 1\], got 1\.01", gae_lambda=1.01),
    row(changed(PPO), ValueError, r"PPOConfig\.clip_eps must be finite, got nan", clip_eps=NAN),
    row(changed(PPO), ValueError, r"PPOConfig\.clip_eps must lie in \(0, inf\), got 0", clip_eps=0),
    row(changed(PPO), ValueError, r"PPOConfig\.ent_coef must lie in \[0, inf\), got -0\.01", ent_coef=-0.01),
    row(changed(PPO), ValueError, r"PPOConfig\.vf_coef must be finite, got inf", vf_coef=INF),
    row(changed(PPO), ValueError, r"PPOConfig\.max_grad_norm must lie in \(0, inf\), got 0", max_grad_norm=0),
    row(changed(PPO), TypeError, r"PPOConfig\.anneal_lr must be True or False, got 'yes'", anneal_lr="yes"),
    row(changed(PPO), ValueError, r"PPOConfig\.env_name must not be empty", env_name=""),
    row(changed(PPO), TypeError, r"PPOConfig\.env_name must be a string, got None", env_name=None),
]

DQN_ROWS = [
    row(changed(DQN), ValueError, r"DQNConfig\.num_envs must be at least 1, got 0", num_envs=0),
    row(changed(DQN), TypeError, r"DQNConfig\.num_envs must be an integer, got 1\.5", num_envs=1.5),
    row(changed(DQN), ValueError, r"DQNConfig\.buffer_size must be at least 1, got 0", buffer_size=0),
    row(changed(DQN), ValueError, r"DQNConfig\.batch_size must be at least 1, got 0", batch_size=0),
    row(changed(DQN), ValueError, r"batch_size = 200000 is larger than buffer_size = 100000", batch_size=200_000),
    row(changed(DQN), ValueError, r"DQNConfig\.gradient_steps must be at least 1, got 0", gradient_steps=0),
    row(changed(DQN), ValueError, r"DQNConfig\.learning_rate must lie in \(0, inf\), got -1", learning_rate=-1),
    row(changed(DQN), ValueError, r"DQNConfig\.gamma must lie in \[0, 1\], got 1\.5", gamma=1.5),
    row(changed(DQN), ValueError, r"DQNConfig\.eps_start must lie in \[0, 1\], got 2\.0", eps_start=2.0),
    row(changed(DQN), ValueError, r"DQNConfig\.eps_finish must lie in \[0, 1\], got -0\.1", eps_finish=-0.1),
    row(changed(DQN), ValueError, r"DQNConfig\.eps_anneal_steps must be at least 1, got 0", eps_anneal_steps=0),
    row(changed(DQN), ValueError, r"DQNConfig\.learning_starts must be at least 1, got 0", learning_starts=0),
    row(changed(DQN), ValueError, r"learning_starts = 16 must hold at least two updates of 16", learning_starts=16),
    row(changed(DQN), ValueError, r"buffer_size = 20 must hold at least two updates", buffer_size=20, batch_size=16),
    row(changed(DQN), ValueError, r"target_update_interval = 8 is shorter", target_update_interval=8),
    row(changed(DQN), ValueError, r"DQNConfig\.target_update_interval must be at least 1", target_update_interval=0),
    row(changed(DQN), ValueError, r"DQNConfig\.max_grad_norm must be finite, got nan", max_grad_norm=NAN),
    row(changed(DQN), ValueError, r"DQNConfig\.num_checkpoints must be at least 1, got 0", num_checkpoints=0),
    row(changed(DQN), ValueError, r"total_timesteps = 100 gives 0 updates.*num_checkpoints", total_timesteps=100),
    row(changed(DQN), TypeError, r"DQNConfig\.env_name must be a string, got 3", env_name=3),
]

AGENT_FUNCTION_ROWS = [
    row(policies.epsilon_greedy, ValueError, r"epsilon must lie in \[0, 1\], got 1\.5", apply=q_apply, epsilon=1.5),
    row(policies.epsilon_greedy, ValueError, r"epsilon must be finite, got nan", apply=q_apply, epsilon=NAN),
    row(distiller, ValueError, r"num_steps must be at least 1, got 0", num_steps=0),
    row(distiller, TypeError, r"batch_size must be an integer, got 2\.5", batch_size=2.5),
    row(distiller, ValueError, r"learning_rate must lie in \(0, inf\), got 0", learning_rate=0),
    row(fit, ValueError, r"num_checkpoints must be at least 1, got 0", num_checkpoints=0),
    row(fit, ValueError, r"num_steps = 61 must be a positive multiple of num_checkpoints = 3", num_steps=61),
    row(fit, ValueError, r"gamma must lie in \[0, 1\], got 1\.5", gamma=1.5),
    row(fit, ValueError, r"target_every must be at least 1, got 0", target_every=0),
    row(fit, ValueError, r"targets must be 'td' or 'mc', got 'sarsa'", targets="sarsa"),
    row(
        distillation.interpolation_paths,
        ValueError,
        r"points must be at least 2, got 1",
        first=np.zeros((1, 2)),
        second=np.ones((1, 2)),
        points=1,
    ),
    row(runner.final_return, ValueError, r"fraction must lie in \(0, 1\], got 0", metrics={}, fraction=0),
]

BUDGET_ROWS = [
    row(
        changed(SMOKE.smoothness), ValueError, r"SmoothnessBudget\.ring_states must be at least 1, got 0", ring_states=0
    ),
    row(
        changed(SMOKE.smoothness), TypeError, r"SmoothnessBudget\.grid_side must be an integer, got 6\.0", grid_side=6.0
    ),
    row(changed(SMOKE.smoothness), ValueError, r"SmoothnessBudget\.random_mdp_states.*got -5", random_mdp_states=-5),
    row(changed(SMOKE.td), ValueError, r"TDBudget\.gamma must lie in \[0, 1\), got 1\.0", gamma=1.0),
    row(changed(SMOKE.td), ValueError, r"TDBudget\.n_times must be at least 2, got 1", n_times=1),
    row(changed(SMOKE.td), ValueError, r"TDBudget\.td_step must lie in \(0, inf\), got 0", td_step=0),
    row(changed(SMOKE.td), ValueError, r"TDBudget\.horizon must be finite, got nan", horizon=NAN),
    row(changed(SMOKE.td), ValueError, r"horizon/\(n_times-1\) = 0\.2 is not a multiple of td_step", td_step=0.03),
    row(changed(SMOKE.td), ValueError, r"TDBudget\.nn_bands must be at least 1, got 0", nn_bands=0),
    row(changed(SMOKE.td), ValueError, r"TDBudget\.nn_learning_rate must lie in \(0, inf\)", nn_learning_rate=-0.1),
    row(changed(SMOKE.critical), ValueError, r"CriticalBudget\.train_fraction.*got 1\.0", train_fraction=1.0),
    row(changed(SMOKE.critical), ValueError, r"CriticalBudget\.train_fraction.*got 0\.0", train_fraction=0.0),
    row(
        changed(SMOKE.critical), ValueError, r"CriticalBudget\.pretrain_lengths must be at least 1", pretrain_lengths=0
    ),
    row(changed(SMOKE.critical), ValueError, r"10 pre-training lengths do not fit into 40 steps", pretrain_lengths=10),
    row(changed(SMOKE.critical), ValueError, r"CriticalBudget\.deep_batch_size must be at least 1", deep_batch_size=0),
    row(changed(SMOKE.critical), ValueError, r"CriticalBudget\.deep_learning_rate.*nan", deep_learning_rate=NAN),
    row(changed(SMOKE.critical), ValueError, r"CriticalBudget\.gamma must lie in \[0, 1\), got -0\.5", gamma=-0.5),
    row(changed(SMOKE.agents), ValueError, r"AgentBudget\.checkpoints must be at least 10, got 5", checkpoints=5),
    row(changed(SMOKE.agents), TypeError, r"AgentBudget\.checkpoints must be an integer, got 10\.0", checkpoints=10.0),
    row(changed(SMOKE.agents), ValueError, r"AgentBudget\.seeds must be at least 1, got 0", seeds=0),
    row(changed(SMOKE.agents), TypeError, r"AgentBudget\.ppo must be of type PPOHyperparameters", ppo=SMOKE.agents.dqn),
    row(changed(SMOKE.agents.ppo), ValueError, r"PPOHyperparameters\.clip_eps must be finite, got nan", clip_eps=NAN),
    row(changed(SMOKE.agents.ppo), ValueError, r"PPOHyperparameters\.num_minibatches.*got 0", num_minibatches=0),
    row(changed(SMOKE.agents.dqn), ValueError, r"DQNHyperparameters\.eps_finish.*got 1\.5", eps_finish=1.5),
    row(changed(SMOKE.agents.dqn), ValueError, r"DQNHyperparameters\.learning_rate.*got -1", learning_rate=-1),
    row(changed(SMOKE.interference), ValueError, r"InterferenceBudget\.games must not be empty", games=()),
    row(changed(SMOKE.interference), TypeError, r"InterferenceBudget\.games must be a tuple", games="Breakout-MinAtar"),
    row(
        changed(SMOKE.interference),
        ValueError,
        r"InterferenceBudget\.games must not repeat an entry",
        games=("Breakout-MinAtar", "Breakout-MinAtar"),
    ),
    row(changed(SMOKE.interference), ValueError, r"InterferenceBudget\.games\[0\] must not be empty", games=("",)),
    row(
        changed(SMOKE.interference),
        ValueError,
        r"InterferenceBudget\.other_games_fraction must lie in \(0, 1\], got 0\.0",
        other_games_fraction=0.0,
    ),
    row(changed(SMOKE.interference), ValueError, r"other_games_fraction must be finite", other_games_fraction=NAN),
    row(changed(SMOKE.interference), ValueError, r"InterferenceBudget\.matrices_at_once.*-1", matrices_at_once=-1),
    row(changed(SMOKE.interference), ValueError, r"InterferenceBudget\.seeds must be at least 1, got 0", seeds=0),
    row(changed(SMOKE.interference), TypeError, r"InterferenceBudget\.warmup_steps.*2\.5", warmup_steps=2.5),
    row(changed(SMOKE.interference), ValueError, r"offline_target_every must be at least 1", offline_target_every=0),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.noise_levels must not be empty", noise_levels=()),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.noise_levels\[1\].*1\.5", noise_levels=(0.0, 1.5)),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.noise_levels\[0\] must be finite", noise_levels=(NAN,)),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.train_levels must be at least 1, got 0", train_levels=0),
    row(
        changed(SMOKE.distill), TypeError, r"DistillBudget\.test_levels must be an integer, got True", test_levels=True
    ),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.path_points must be at least 2, got 1", path_points=1),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.level_games must not be empty", level_games=()),
    row(
        changed(SMOKE.distill), TypeError, r"DistillBudget\.level_games must be a tuple, got 'maze'", level_games="maze"
    ),
    row(changed(SMOKE.distill.ppo), ValueError, r"PPOHyperparameters\.gamma must lie in \[0, 1\], got 1\.1", gamma=1.1),
    row(changed(SMOKE.distill), TypeError, r"DistillBudget\.ppo must be of type PPOHyperparameters", ppo=None),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.value_game must not be empty", value_game=""),
    row(changed(SMOKE.distill), ValueError, r"DistillBudget\.students must be at least 1, got 0", students=0),
    row(changed(SMOKE), ValueError, r"Profile\.name must not be empty", name=""),
    row(changed(SMOKE), TypeError, r"Profile\.agents must be of type AgentBudget, got None", agents=None),
    row(changed(SMOKE), TypeError, r"Profile\.td must be of type TDBudget", td=SMOKE.critical),
    row(SMOKE_OVERRIDE, ValueError, r"profile 'x': tdd is not a setting; Profile has name, smoothness", tdd={}),
    row(SMOKE_OVERRIDE, ValueError, r"'x': agents\.ppo\.lr is not a setting; PPOHyperparam", agents={"ppo": {"lr": 1}}),
    row(SMOKE_OVERRIDE, ValueError, r"'x': td\.gamma = 0\.9 changes nothing: it is the base", td={"gamma": 0.9}),
    row(SMOKE_OVERRIDE, TypeError, r"'x': agents\.ppo is a group of settings: give a mapping", agents={"ppo": 0.1}),
    row(SMOKE_OVERRIDE, TypeError, r"'x': td\.gamma is a single setting, not a group", td={"gamma": {}}),
    row(SMOKE_OVERRIDE, ValueError, r"PPOHyperparameters\.clip_eps must lie in", agents={"ppo": {"clip_eps": 0}}),
]

ENV_ROWS = [
    row(
        envs.make_env,
        ValueError,
        r"option 'num_levels' is given twice in 'procgen:coinrun\?num_levels=10&num_levels=20'",
        name="procgen:coinrun?num_levels=10&num_levels=20",
    ),
    row(
        envs.make_env,
        ValueError,
        r"option 'num_levels' of 'maze\?num_levels=true&start_level=0' must be an integer, got 'true'",
        name="maze?num_levels=true&start_level=0",
    ),
    row(
        envs.make_env,
        ValueError,
        r"option 'num_levels' of 'maze\?num_levels=2\.5&start_level=0' must be an integer, got '2\.5'",
        name="maze?num_levels=2.5&start_level=0",
    ),
    row(envs.make_env, ValueError, r"option 'num_levels' of .* at least 0, got '-1'", name="maze?num_levels=-1"),
    row(
        envs.make_env,
        ValueError,
        r"option 'start_level' of .* must be at least 0, got '-2'",
        name="maze?num_levels=5&start_level=-2",
    ),
    row(
        envs.make_env,
        ValueError,
        r"option 'start_level' is given twice in 'maze\?",
        name="maze?num_levels=5&start_level=0&start_level=1",
    ),
    row(
        envs.make_env, ValueError, r"option 'seed' of 'atari:Breakout-v5\?seed=1\.5'", name="atari:Breakout-v5?seed=1.5"
    ),
    row(envs.make_env, ValueError, r"option 'seed' of 'atari:Breakout-v5\?seed=x'", name="atari:Breakout-v5?seed=x"),
    row(
        envs.make_env,
        ValueError,
        r"option 'repeat_action_probability' of .* must be finite, got 'nan'",
        name="atari:Breakout-v5?repeat_action_probability=nan",
    ),
    row(envs.make_env, TypeError, r"num_envs must be an integer, got 2\.5", name="Breakout-MinAtar", num_envs=2.5),
    row(envs.make_env, ValueError, r"num_envs must be at least 1, got 0", name="Breakout-MinAtar", num_envs=0),
    row(envs.make_env, ValueError, r"name must not be empty", name=""),
    row(
        maze.parse_maze_name,
        ValueError,
        r"'maze\?num_levels=0&start_level=0'.*num_levels = 0",
        name="maze?num_levels=0&start_level=0",
    ),
    row(maze.maze_name, ValueError, r"start_level must be at least 0, got -1", start_level=-1, num_levels=5),
    row(maze.maze_name, ValueError, r"num_levels must be at least 1, got 0", start_level=0, num_levels=0),
    row(maze.level_bank, TypeError, r"num_levels must be an integer, got True", start_level=0, num_levels=True),
    row(
        envs.level_split,
        ValueError,
        r"train_levels must be at least 1, got 0",
        game="maze",
        train_levels=0,
        test_levels=9,
    ),
    row(
        envs.level_split,
        TypeError,
        r"test_levels must be an integer, got 2\.5",
        game="maze",
        train_levels=9,
        test_levels=2.5,
    ),
]

STATS_ROWS = [
    row(stats.bootstrap_ci, ValueError, r"bootstrap_ci: samples has 1 non-finite .* index \(1,\)", samples=[1, NAN, 3]),
    row(stats.bootstrap_ci, ValueError, r"bootstrap_ci: samples has 1 non-finite", samples=[1.0, INF]),
    row(
        stats.bootstrap_ci,
        ValueError,
        r"bootstrap_ci: n_resamples must be at least 1, got 0",
        samples=[1, 2],
        n_resamples=0,
    ),
    row(
        stats.bootstrap_ci,
        ValueError,
        r"bootstrap_ci: confidence must lie in \(0, 1\), got 1\.0",
        samples=[1, 2],
        confidence=1.0,
    ),
    row(
        stats.bootstrap_means,
        ValueError,
        r"bootstrap_means: samples has 1 non-finite",
        samples=[[1.0, NAN], [2.0, 3.0]],
    ),
    row(stats.ratio_of_means, ValueError, r"ratio_of_means: pairs has 1 non-finite", pairs=[[1.0, 2.0], [1.0, NAN]]),
    row(stats.ratio_of_means, ValueError, r"ratio_of_means: pairs must have shape \[seeds, 2\]", pairs=np.ones((3, 3))),
    row(stats.spearman, ValueError, r"spearman: x has 1 non-finite", x=[1.0, NAN, 3.0], y=[1.0, 2.0, 3.0]),
    row(stats.spearman, ValueError, r"spearman: y has 1 non-finite", x=[1.0, 2.0, 3.0], y=[1.0, 2.0, -INF]),
    row(
        stats.spearman,
        ValueError,
        r"spearman: nan_policy must be 'raise' or 'omit', got 'drop'",
        x=[1],
        y=[1],
        nan_policy="drop",
    ),
    row(stats.percentile_interval, ValueError, r"percentile_interval: values has 1 non-finite", values=[1.0, NAN]),
    row(judge, ValueError, r"judge: threshold must be finite, got nan", threshold=NAN),
    row(judge, ValueError, r"judge: ci\[0\] must be finite, got nan", ci=(NAN, 1.0)),
    row(judge, ValueError, r"judge: ci must be ordered \(low, high\), got \(2\.0, 1\.0\)", ci=(2.0, 1.0)),
    row(judge, ValueError, r"judge: interval must be one of .*got 'percentile'", interval="percentile"),
    row(stats.mean_interval, ValueError, r"mean_interval: samples has 1 non-finite", samples=[1.0, NAN, 2.0]),
    row(stats.mean_interval, ValueError, r"mean_interval: samples needs at least 1 unit", samples=np.ones((0, 2))),
    row(stats.t_interval, ValueError, r"t_interval: samples needs at least 2 unit", samples=[1.0]),
    row(
        stats.t_interval, ValueError, r"t_interval: confidence must lie in \(0, 1\)", samples=[1.0, 2.0], confidence=95
    ),
    row(stats.t_quantile, ValueError, r"t_quantile: units must be at least 2, got 1", units=1),
    row(stats.bootstrap_t_interval, ValueError, r"bootstrap_t_interval: samples has 1 non-finite", samples=[1.0, INF]),
    row(
        stats.ratio_interval,
        ValueError,
        r"ratio_interval: numerator and denominator must have equal shapes",
        numerator=[1.0, 2.0, 3.0],
        denominator=[1.0, 2.0],
    ),
    row(
        stats.ratio_interval,
        ValueError,
        r"ratio_interval: denominator has 1 non-finite",
        numerator=[1.0, 2.0],
        denominator=[1.0, NAN],
    ),
    row(
        stats.ratio_interval,
        ValueError,
        r"ratio_interval: denominator has mean 0",
        numerator=[1.0, 2.0, 3.0],
        denominator=[1.0, -1.0, 0.0],
    ),
    row(stats.resample_counts, ValueError, r"resample_counts: n_resamples must be at least 1", units=3, n_resamples=0),
    row(stats.mean_draws, ValueError, r"mean_draws: samples needs at least 2 unit", samples=[[1.0, 2.0]]),
    row(stats.mean_draws, ValueError, r"mean_draws: seed must be at least 0", samples=[1.0, 2.0], seed=-1),
    row(
        stats.spearman_rows,
        ValueError,
        r"spearman_rows: x must be \[arms\] and ys \[rows, arms\]",
        x=[1, 2],
        ys=[[1, 2, 3]],
    ),
    row(stats.spearman_rows, ValueError, r"spearman_rows: ys has 1 non-finite", x=[1, 2], ys=[[1, NAN]]),
    row(
        stats.hierarchical_bootstrap_means,
        ValueError,
        r"hierarchical_bootstrap_means: samples must be \[teachers, students, ...\]",
        samples=[1.0, 2.0],
    ),
    row(
        stats.hierarchical_bootstrap_means,
        ValueError,
        r"hierarchical_bootstrap_means: samples has 1 non-finite",
        samples=[[1.0, NAN], [2.0, 3.0]],
    ),
    row(stats.iqm, ValueError, r"iqm: scores has 1 non-finite", scores=[1.0, NAN]),
    row(stats.iqm_interval, ValueError, r"iqm_interval: scores must be \[runs, games\]", scores=[1.0, 2.0, 3.0]),
    row(stats.stratified_bootstrap, ValueError, r"stratified_bootstrap: scores must be \[runs, games", scores=[1.0]),
    row(
        stats.stratified_bootstrap,
        ValueError,
        r"stratified_bootstrap: n_resamples must be at least 1",
        scores=np.ones((3, 2)),
        n_resamples=0,
    ),
    row(
        stats.of_means_interval,
        ValueError,
        r"of_means_interval: samples has 1 non-finite",
        samples=[[1.0, 2.0], [NAN, 1.0]],
        estimate=np.sum,
    ),
    row(
        stats.statistic_interval,
        ValueError,
        r"statistic_interval: samples has 1 non-finite",
        samples=[[1.0, 2.0], [NAN, 1.0]],
        estimate=np.sum,
    ),
]

ROWS = PPO_ROWS + DQN_ROWS + AGENT_FUNCTION_ROWS + BUDGET_ROWS + ENV_ROWS + STATS_ROWS


def test_the_table_is_large():
    assert len(ROWS) >= 80


@pytest.mark.parametrize(("target", "kwargs", "exception", "pattern"), ROWS)
def test_bad_input_gets_a_named_error(target, kwargs, exception, pattern):
    with pytest.raises(exception, match=pattern):
        target(**kwargs)


@pytest.mark.parametrize("name", sorted(profiles.PROFILES))
def test_every_profile_builds_valid_agent_configs(name):
    profile = profiles.get_profile(name)
    for game in (*profile.interference.games, "Breakout-MinAtar"):
        for algorithm in agents.ALGORITHMS:
            agents.agent_config(profile, algorithm, game)
    d = profile.distill
    for game in d.level_games:
        train, unseen, _ = envs.level_split(game, d.train_levels, d.test_levels)
        envs.parse_env_options(train.partition(":")[2] or train)
        envs.parse_env_options(unseen.partition(":")[2] or unseen)
        assert agents.agent_config(profile, "PPO", game).env_name == train  # the level-based teachers of claim 5


def test_good_env_options_still_parse():
    assert envs.parse_env_options("coinrun?num_levels=0&start_level=1000000&seed=3") == (
        "coinrun",
        {"num_levels": 0, "start_level": 1_000_000, "seed": 3},
    )
    assert maze.parse_maze_name("maze?start_level=5&num_levels=2") == (5, 2)


def test_stats_on_finite_samples_are_unchanged():
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(7, 2)) + 2.0
    # the bootstrap as it was computed before the checks: same resamples, same percentiles
    idx = np.random.default_rng(0).integers(0, 7, size=(300, 7))
    values = np.array([stats.ratio_of_means(samples[i]) for i in idx])
    alpha = (1.0 - 0.95) / 2
    expected = tuple(float(q) for q in np.quantile(values, [alpha, 1.0 - alpha]))
    assert stats.bootstrap_ci(samples, stats.ratio_of_means, n_resamples=300) == expected
    means = stats.bootstrap_means(samples, n_resamples=50)
    assert means.shape == (50, 2) and np.isfinite(means).all()


def test_dropping_non_finite_values_is_explicit():
    x, y = np.array([1.0, 2.0, NAN, 4.0, 5.0]), np.array([2.0, 1.0, 3.0, 5.0, INF])
    with pytest.raises(ValueError, match="spearman: x"):
        stats.spearman(x, y)
    assert stats.spearman(x, y, nan_policy="omit") == stats.spearman(x[[0, 1, 3]], y[[0, 1, 3]])
    with pytest.raises(ValueError, match="percentile_interval: values"):
        stats.percentile_interval(np.array([NAN]))
    assert stats.percentile_interval(np.array([NAN]), nan_policy="omit") is None
    assert stats.percentile_interval(np.array([1.0, NAN, 3.0]), nan_policy="omit") == stats.percentile_interval(
        np.array([1.0, 3.0])
    )
    # a degenerate resample (all ranks tied: no Spearman ρ) is left out inside bootstrap_ci, as documented
    pairs = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's ConstantInputWarning on the degenerate resamples
        lo, hi = stats.bootstrap_ci(pairs, lambda p: stats.spearman(p[:, 0], p[:, 1]), n_resamples=200)
    assert -1.0 <= lo <= hi <= 1.0
    assert stats.judge(NAN, None, 0.0, ">=") == stats.NOT_REPRODUCED  # a statistic that could not be computed


def test_final_return_is_nan_with_a_warning_for_seeds_without_an_episode():
    metrics = {
        "episode_return": np.array([[NAN, 2.0, 4.0], [1.0, NAN, NAN], [NAN, NAN, NAN]]),
        "episodes": np.array([[0, 1, 3], [5, 0, 0], [0, 0, 0]]),
    }
    with pytest.warns(RuntimeWarning, match=r"2 of 3 seed\(s\) finished no episode in the last 2 update"):
        last = runner.final_return(metrics, fraction=0.6)
    np.testing.assert_array_equal(last[0], (2.0 * 1 + 4.0 * 3) / 4)  # weighted by finished episodes, as before
    assert np.isnan(last[1:]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = runner.final_return(metrics, fraction=1.0, warn=False)
        assert whole[1] == 1.0 and np.isnan(whole[2])
        assert runner.final_return({k: v[:2] for k, v in metrics.items()}, fraction=1.0).tolist() == [3.5, 1.0]
