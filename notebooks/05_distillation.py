# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["remove-cell"]
# Colab only: install this release's pins (requirements-colab.txt) and tdgen.
import subprocess
import sys

REPO, REF = "https://github.com/tdgen-book/tdgen-book", "v0.1.0"
if "google.colab" in sys.modules:
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-r", f"{REPO}/raw/{REF}/requirements-colab.txt"], check=True)
    subprocess.run([*pip, "--no-deps", f"tdgen @ git+{REPO}@{REF}"], check=True)

# %% [markdown]
# # Claim 5 – Distillation into a fresh network generalizes better
#
# ```{include} ../book/_notebook_note.md
# ```
#
# **Claim** {cite}`lyle2022learning`: if TD targets push a network towards memorizing
# its value function, then a *freshly initialised* network trained to imitate a trained
# agent by plain regression — no bootstrapped targets — should generalize better than
# the agent itself: it should be more robust to perturbations of its input, change its
# outputs more consistently between states, and (for policies) do better on levels it has
# never seen.
#
# **Setup.** Two parts, both with {py:func}`~tdgen.distillation.make_distill`, one
# training loop for students of either kind:
#
# * **(a) Value distillation.** Teachers: the DQN agents of
#   [claim 4](04_interference.py) on the profile's `value_game` — Breakout-MinAtar at
#   `smoke` and `quick`, Atari Breakout through envpool at `paper` (the same cached runs;
#   the final checkpoint of each seed). Data: the states of the teacher's own ε-greedy play
#   (ε = 0.05, its training exploration). Students: the same network, freshly
#   initialised, trained by Adam to regress the teacher's Q-values for *all* actions on
#   those states ({py:func}`~tdgen.distillation.q_regression_loss`).
# * **(b) Policy distillation, procedurally generated levels.** Teachers: PPO on the
#   Maze of `jaxued` (13×13 mazes with 25 walls, a 5×5 egocentric view;
#   {py:mod}`tdgen.envs.maze`), trained on a fixed set of training levels and tested on
#   unseen ones — the paper's ProcGen protocol at CPU scale. At `paper` the teachers are
#   PPO with the IMPALA CNN on real ProcGen games through envpool (easy mode, 10 training
#   levels per game, 25M steps, the hyper-parameters of Raileanu & Fergus (2021): 64
#   environments × 256 steps, Adam 5e-4 — annealed linearly, as in all our PPO runs —, 3
#   epochs of 8 minibatches, γ = 0.999). Students: freshly initialised, trained with
#   KL(π_teacher ‖ π_student) plus a value regression
#   ({py:func}`~tdgen.distillation.policy_distillation_loss`) on states of the teacher's
#   sampled rollouts on the *training levels only*.
#
# The paper did not publish its distillation protocol; the choices above (data from the
# teacher's own behaviour, Adam, the budgets of {py:class}`~tdgen.profiles.DistillBudget`)
# are the natural ones and live in one config.

# %%
import time

import jax
import numpy as np
from IPython.display import Markdown
from tdgen import claimtests, distillation
from tdgen.dashboard import details
from tdgen.envs import level_split, make_env
from tdgen.plotting import claim5, publish_figure, set_theme
from tdgen.profiles import get_profile
from tdgen.results import record_claim
from tdgen.rl import agents, policies, rollouts, runner
from tdgen.rl.networks import QNetwork

profile = get_profile()
budget = profile.distill
set_theme()
GAME = budget.value_game
DATA_EPSILON, EVAL_EPSILON = 0.05, 0.01  # teacher's data-collection and evaluation ε
seeds = profile.interference.seeds  # the DQN teachers are claim 4's agents
at_once = profile.interference.matrices_at_once  # networks per vmap (0: all at once)
print(
    f"profile {profile.name}: {seeds} DQN teachers on {GAME}, "
    f"{budget.level_seeds} PPO teachers on each of {', '.join(budget.level_games)}; "
    f"{budget.students} students per teacher, each fitting "
    f"{budget.dataset_envs * budget.dataset_steps:,} teacher states in "
    f"{budget.distill_steps:,} Adam steps"
)

# %% [markdown]
# ## (a) Value distillation
#
# The teachers are loaded from the cache of claim 4 (trained there if absent;
# {py:func}`~tdgen.rl.agents.trained_agents`). Each teacher plays ε-greedily to give the
# distillation states, and again with other keys for held-out states (used below for the
# noise and interpolation tests; {py:func}`~tdgen.distillation.teacher_states`). Then
# `budget.students` students per teacher are distilled, all in one `vmap` — and once
# more for a quarter of the Adam steps, from the same initialisations and data, to see
# how the comparison depends on how closely a student fits its teacher
# ({py:func}`~tdgen.distillation.distill_lengths`).

# %% tags=["remove-stderr"]
start = time.perf_counter()
dqn_config = agents.agent_config(profile, "DQN", GAME)
# one vmap over seeds; envpool (Atari) one cached run per seed
dqn_run = agents.trained_agents(profile, "DQN", GAME)
teachers = jax.tree.map(lambda p: p[:, -1], dqn_run.params)  # final checkpoint
print(
    f"teachers' final training return per seed: "
    f"{np.round(runner.final_return(dqn_run.metrics), 2)} "
    f"({time.perf_counter() - start:.0f} s)"
)
q_net = QNetwork(make_env(GAME).num_actions)
data_env = make_env(GAME, budget.dataset_envs)
behaviour = policies.epsilon_greedy(q_net.apply, DATA_EPSILON)
loss = distillation.q_regression_loss
lengths = (budget.distill_steps, budget.distill_steps // 4)  # full, a quarter
start = time.perf_counter()
# every network of part (a): [teachers, 1 + 2 students] (the teacher first)
networks, losses = distillation.distill_lengths(
    q_net, teachers, behaviour, data_env, loss, lengths, budget, jax.random.PRNGKey(5)
)
S = budget.students
GROUPS = {
    "teacher (DQN)": slice(0, 1),
    "student": slice(1, 1 + S),
    "student, ¼ of the distillation": slice(1 + S, 1 + 2 * S),
}
held_out = distillation.teacher_states(
    data_env, behaviour, teachers, budget.dataset_steps, jax.random.PRNGKey(4)
)  # [teachers, states, ...]
print(f"distilled {seeds}×{S} students twice in {time.perf_counter() - start:.0f} s")
for steps, curves in losses.items():
    final = np.asarray(curves[..., -100:].mean(-1)).round(4).tolist()
    print(f"{steps:,} steps: final loss per student {final}")

# %% [markdown]
# **Robustness.** MinAtar observations are binary cells, so the natural perturbation is
# a bit flip: every cell flips independently with probability $p$
# ({py:func}`~tdgen.distillation.bit_flip`; on Atari's grey pixels, at `paper`, Gaussian
# noise of standard deviation σ · 255, {py:func}`~tdgen.distillation.pixel_noise`). We
# measure (i) the return when the network acts on perturbed observations (ε = 0.01; one
# episode per environment, cut at `eval_steps` steps;
# {py:func}`~tdgen.distillation.noisy_returns`), and (ii) *action agreement*, the
# fraction of held-out states whose greedy action is unchanged by the noise
# ({py:func}`~tdgen.distillation.noisy_agreement`). Teacher and students see the same
# noise (same keys).

# %%
noise, noise_label = distillation.observation_noise(GAME)
eval_env = make_env(GAME, budget.eval_episodes)
greedy = policies.epsilon_greedy(q_net.apply, EVAL_EPSILON)
start = time.perf_counter()
eval_key, agree_key = jax.random.split(jax.random.PRNGKey(6))
noise_levels = budget.noise_levels
returns_a = distillation.noisy_returns(
    eval_env, greedy, networks, noise, noise_levels, budget.eval_steps, eval_key
)  # [teachers, 1 + 2 students, noise levels]
probe_states = held_out[:, : budget.probe_states]
agree_a = distillation.noisy_agreement(
    q_net.apply, networks, probe_states, noise, noise_levels, agree_key, at_once
)  # [teachers, 1 + 2 students, noise levels]
print(f"evaluated under noise in {time.perf_counter() - start:.0f} s")
print(f"noise levels ({noise_label}): {noise_levels}")
for name, values in (("return", returns_a), ("action agreement", agree_a)):
    for group, columns in GROUPS.items():
        mean = values[:, columns].mean((0, 1)).round(3)
        print(f"{name:17s} {group:31s} {mean}")

# %% tags=["remove-output"]
figure = claim5.robustness(noise_levels, returns_a, agree_a, GROUPS, noise_label)
publish_figure(figure, "claim5_robustness", profile.name)

# %% [markdown]
# ```{glue:figure} claim5_robustness
# :name: fig-claim5-robustness
#
# Robustness to input noise on Breakout-MinAtar (Atari Breakout at `paper`): return when
# acting on observations with bit flips (pixel noise at `paper`; left;
# {py:func}`~tdgen.distillation.noisy_returns`) and the fraction of held-out states whose
# greedy action survives them (right; {py:func}`~tdgen.distillation.noisy_agreement`),
# for the DQN teachers, their distilled students and the students stopped after a
# quarter of the distillation (mean over networks, shaded from lowest to highest). At
# zero noise the left panel compares plain performance; a student line above the
# teacher's on the right means a more robust student.
# ```
#
# **Consistency on interpolations.** For random pairs of held-out states $(x_a, x_b)$ of
# the same teacher we walk the straight path $x(t) = (1 - t)x_a + t x_b$ (inputs
# between 0 and 1, off the binary training manifold;
# {py:func}`~tdgen.distillation.interpolation_paths`) and count how often the greedy
# action changes along it (`switches`); we also report the total variation of $Q$ along
# the path over its net change (`variation_ratio`, 1 for monotone outputs;
# {py:func}`~tdgen.distillation.path_statistics`). A network that interpolates smoothly
# between states switches rarely and has a ratio near 1. Every network walks its
# teacher's paths ({py:func}`~tdgen.distillation.interpolation_consistency`).
#
# **Interference.** The update matrices of [claim 4](04_interference.py) on probe states
# from random play ({py:func}`~tdgen.rl.rollouts.random_transitions`): the off-diagonal
# ratio of each teacher and student ({py:func}`~tdgen.distillation.interference_ratios`;
# higher: an update on one state moves the others more — more generalization).

# %%
path_key, _ = jax.random.split(jax.random.PRNGKey(7))
paths = (budget.paths, budget.path_points)  # paths per teacher, points per path
switches_a, variation_a = distillation.interpolation_consistency(
    q_net.apply, networks, held_out, *paths, path_key, at_once
)  # each [teachers, 1 + 2 students]
probe = profile.interference  # claim 4's probe states and learning rate
batch = rollouts.random_transitions(
    GAME, probe.states, probe.warmup_steps, jax.random.PRNGKey(1)
)
interference_a = distillation.interference_ratios(
    q_net.apply, networks, batch, dqn_config.gamma, probe.learning_rate, at_once
)  # [teachers, 1 + 2 students]
for group, columns in GROUPS.items():
    print(
        f"{group:31s} greedy switches per path {switches_a[:, columns].mean():.2f}, "
        f"median variation ratio {variation_a[:, columns].mean():.2f}, "
        f"off-diagonal ratio {interference_a[:, columns].mean():.3f}"
    )

# %% tags=["remove-output"]
ticks = ["teacher", "student", "student, ¼"]
figure = claim5.consistency_interference(
    switches_a, variation_a, interference_a, GROUPS, ticks
)
publish_figure(figure, "claim5_consistency_interference", profile.name)

# %% [markdown]
# ```{glue:figure} claim5_consistency_interference
# :name: fig-claim5-consistency
#
# Consistency and interference of the DQN teachers, their students and the students
# stopped after a quarter of the distillation (bars: means; dots: networks). Left: how
# often the greedy action changes along straight paths between two held-out states;
# middle: how much the Q-values wiggle along them relative to their net change (both
# {py:func}`~tdgen.distillation.interpolation_consistency`); right: the off-diagonal
# ratio of the update matrix (claim 4's interference;
# {py:func}`~tdgen.distillation.interference_ratios`). The claim predicts lower bars for
# the student on the left two panels and a higher one on the right.
# ```
#
# ## (b) Policy distillation on unseen levels
#
# PPO teachers are trained on the first `train_levels` level keys of each game — at
# `smoke` and `quick` jaxued's Maze, several seeds in one `vmap`; at `paper` ProcGen
# games, one envpool run per seed — cached like every agent run, and tested on
# `test_levels` level keys from 1,000,000 on, which they never saw
# ({py:func}`~tdgen.envs.level_split`; the original ProcGen protocol tests on the full
# level distribution, which differs only in also holding the training levels). Their
# students see only states of the teachers' sampled rollouts on the training levels.
#
# Students are distilled from each game's teachers; then every teacher and student plays
# `eval_episodes` episodes on the training levels and on unseen levels, sampling from its
# policy and acting greedily (its most likely action;
# {py:func}`~tdgen.distillation.distill_on_levels`).

# %% tags=["remove-stderr"]
# per game: (training levels, unseen levels, the longest episode)
level_sets = {
    game: level_split(game, budget.train_levels, budget.test_levels)
    for game in budget.level_games
}
level_teachers = {}
for game in level_sets:
    start = time.perf_counter()
    # PPO on the training levels of level_sets[game]
    run = agents.trained_agents(profile, "PPO", game)
    level_teachers[game] = jax.tree.map(lambda p: p[:, -1], run.params)
    print(
        f"{game}: teachers' final training return per seed "
        f"{np.round(runner.final_return(run.metrics), 3)} "
        f"({time.perf_counter() - start:.0f} s)"
    )
level_returns = {}  # game -> {(level set, mode): [teachers, 1 + students]}
keys = jax.random.PRNGKey(12), jax.random.PRNGKey(11)  # distillation, evaluation
for game, sets in level_sets.items():
    start = time.perf_counter()
    level_returns[game], policy_losses = distillation.distill_on_levels(
        level_teachers[game], sets, budget, *keys
    )
    print(
        f"{game}: distilled and evaluated in {time.perf_counter() - start:.0f} s; "
        f"final loss {np.asarray(policy_losses[..., -100:].mean(-1)).round(4).tolist()}"
    )
    for (level_set, mode), r in level_returns[game].items():
        print(
            f"{game}: {level_set:8s} levels, {mode:7s}: teacher {r[:, 0].mean():.3f}, "
            f"students {r[:, 1:].mean():.3f}"
        )

# %% tags=["remove-output"]
figure = claim5.level_generalization(level_returns)
publish_figure(figure, "claim5_level_generalization", profile.name)

# %% [markdown]
# ```{glue:figure} claim5_level_generalization
# :name: fig-claim5-levels
#
# Effect of distillation on train and test performance (the paper's ProcGen figure; at
# the `quick` profile on jaxued mazes): mean return on the training levels and on unseen
# levels of the PPO teachers and their distilled students
# ({py:func}`~tdgen.distillation.distill_on_levels`), sampling actions (left) and acting
# greedily (right), one row per game. Bars are means, dots single networks. The claim
# predicts the student's unseen-level bar above the teacher's with little loss on the
# training levels.
# ```
#
# **At `paper`** part (b) runs on four ProcGen games — bigfish, coinrun, jumper and
# starpilot — and part (a) on Atari Breakout (both need `tdgen[envpool]`, ProcGen also
# the Qt5 runtime). One envpool pool cannot be vmapped, so there each teacher is its own
# cached training run, and the distillation data and evaluations play one pool network
# after network ({py:func}`~tdgen.envs.interface.vmap_over`): a teacher and its students
# then meet different levels and episodes, not the same ones. The `paper` profile has
# been checked end to end on CPU at a tiny budget, not run at its own.
#
# ## Verdict
#
# Differences are student minus its own teacher, one per (teacher seed, student seed)
# pair ({py:func}`~tdgen.distillation.student_minus_teacher`), for the students
# distilled for the full `distill_steps` (the quarter-length students are shown above,
# not tested), with 95% bootstrap intervals over those pairs (pairs of one teacher share
# it: with few teacher seeds read the intervals as rough). Thresholds were fixed before
# the runs.
#
# 1. **More robust** (a): greedy-action agreement under input noise, mean over the
#    non-zero noise levels, student − teacher ≥ **0**.
# 2. **More consistent** (a): greedy-action switches along interpolation paths,
#    student − teacher ≤ **0**.
# 3. **Generalizes to new levels** (b): return on unseen levels with sampled actions,
#    student − teacher ≥ **0**.
#
# Secondary: the student keeps the teacher's return (a, no noise: student / teacher
# ≥ 0.9; b, training levels: student / teacher ≥ 0.9), its return under noise
# (student − teacher ≥ 0), the variation ratio (student − teacher ≤ 0), interference
# (off-diagonal ratio, student / teacher ≥ 1), and unseen-level return with greedy actions
# (student − teacher ≥ 0).

# %%
ci = {
    "n_resamples": budget.bootstrap_resamples,
    "ci_over": "bootstrap over (teacher, student) pairs",
}
# a test passes if its statistic is `direction` (">=" or "<=") `threshold`
passes_if = lambda direction, threshold, primary=True: dict(
    threshold=threshold, direction=direction, primary=primary, **ci
)
# per (teacher, student) pair: the difference, or (student, teacher)
difference = lambda values: distillation.student_minus_teacher(values, S)
pairs = lambda values: distillation.student_teacher_pairs(values, S)
noisy = np.asarray(noise_levels) > 0
tests = [
    claimtests.mean_test(
        "(a) student more robust to input noise",
        "greedy-action agreement under input noise (mean over levels > 0), student − teacher",
        difference(agree_a[..., noisy].mean(-1)),
        **passes_if(">=", 0.0),
    ),
    claimtests.mean_test(
        "(a) student more consistent along interpolations",
        "greedy-action switches per path, student − teacher",
        difference(switches_a),
        **passes_if("<=", 0.0),
    ),
]
tests += [
    claimtests.mean_test(
        f"(b) {game}: student better on unseen levels",
        "mean return on unseen levels (sampled actions), student − teacher",
        difference(returns["unseen", "sampled"]),
        **passes_if(">=", 0.0),
    )
    for game, returns in level_returns.items()
]

# %%
tests += [
    claimtests.ratio_test(
        "(a) student keeps the teacher's return",
        "return without noise, student / teacher",
        *pairs(returns_a[..., 0]),
        **passes_if(">=", 0.9, primary=False),
    ),
    claimtests.mean_test(
        "(a) student's return more robust to input noise",
        "return under input noise (mean over levels > 0), student − teacher",
        difference(returns_a[..., noisy].mean(-1)),
        **passes_if(">=", 0.0, primary=False),
    ),
    claimtests.mean_test(
        "(a) student's Q-values vary less along interpolations",
        "median Q variation ratio along paths, student − teacher",
        difference(variation_a),
        **passes_if("<=", 0.0, primary=False),
    ),
    claimtests.ratio_test(
        "(a) student interferes more between states",
        "off-diagonal ratio of the update matrix, student / teacher",
        *pairs(interference_a),
        **passes_if(">=", 1.0, primary=False),
    ),
]

# %%
for game, returns in level_returns.items():
    tests += [
        claimtests.ratio_test(
            f"(b) {game}: student keeps the teacher's training-level return",
            "mean return on training levels (sampled), student / teacher",
            *pairs(returns["training", "sampled"]),
            **passes_if(">=", 0.9, primary=False),
        ),
        claimtests.mean_test(
            f"(b) {game}: student better on unseen levels, greedy",
            "mean return on unseen levels (greedy actions), student − teacher",
            difference(returns["unseen", "greedy"]),
            **passes_if(">=", 0.0, primary=False),
        ),
    ]
claim = record_claim(
    claim=5,
    title="Distillation gains",
    statement="Distilling a trained agent into a freshly initialised network improves "
    "robustness and consistency, and policy distillation improves generalization to "
    "new levels.",
    notebook="notebooks/05_distillation",
    profile=profile.name,
    tests=tests,
    figure=f"figures/{profile.name}/claim5_level_generalization.png",
)
Markdown(details(claim))

# %% [markdown]
# The table is generated from this run's results file; the
# [claims page](../book/claims.md) collects every claim's. Rows marked *not reproduced*
# are findings at this profile's budget, shown with their measured effects in the
# figures above. Read part (a) with the quarter-length students beside the full ones: a
# gain in consistency or interference that only the less-fitted students show comes
# from imitating the teacher less closely (and usually costs return), not from
# distillation as such.
