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
# # Claim 3 – A critical period: early rough targets hurt generalization
#
# ```{include} ../book/_notebook_note.md
# ```
#
# **Claim** {cite}`lyle2022learning`: networks pre-trained to fit high-frequency
# (non-smooth) target functions go on to obtain *greater generalization error* when
# fine-tuned on a value function and evaluated on an interpolation task than networks
# trained from scratch on the value function. Since TD fits the non-smooth components of
# the value function first ({doc}`02_td_fitting_order`), its early targets are exactly such
# rough functions, so fitting them early in training may hurt generalization — a
# *critical period* in the sense of {cite}`achille2019critical`.
#
# **Setup.** Two gridworlds under the uniform random walk, each with three rewards: an
# open room (side from the profile, as in {doc}`02_td_fitting_order`) and the four-rooms
# layout (13 × 13 cells with walls, 104 free states, one reward in each of three rooms);
# discount $\gamma$ from the profile. Everything below is run, and every test judged, in
# each environment separately. An MLP ({py:class}`~tdgen.rl.networks.MLP`) sees each
# state's grid coordinates scaled to $[-1, 1]$ and is trained with Adam on the *training
# states* only: a random half of the states, always with the reward states (so that TD
# sees every reward), drawn once per seed. Its squared error on the other half is the
# *interpolation* (generalization) error. The network trained from scratch shares each
# seed's initialisation and split. The fine-tuning target is the standardised $V^\pi$; the
# standardised pre-training targets ({py:func}`~tdgen.critical.grid_problem`) come in
# three families of increasing roughness:
#
# * **eigenvectors** of $P^\pi$, from the smoothest non-constant one to the roughest
#   (most negative eigenvalue) ({py:func}`~tdgen.critical.eigenvector_targets`);
# * **sinusoids** $\sin(\omega\langle k, x(s)\rangle + \varphi)$ of the coordinates $x(s)$
#   along a random direction $k$, up to the grid's Nyquist frequency
#   ({py:func}`~tdgen.critical.sinusoid_targets`): rough functions that, unlike the
#   eigenvectors, know nothing of $P^\pi$ or of the walls;
# * i.i.d. Gaussian **random labels** (one set).
#
# The last section repeats the two comparisons in deep RL, on a MinAtar agent's frames.

# %%
from functools import partial

import jax
import numpy as np
from IPython.display import Markdown
from tdgen import critical
from tdgen.claimtests import fixed_test, mean_test, ratio_test, spearman_test
from tdgen.dashboard import details
from tdgen.envs import make_env, tabular
from tdgen.plotting import claim3, publish_figure, set_theme
from tdgen.profiles import get_profile
from tdgen.results import record_claim
from tdgen.rl import agents, runner
from tdgen.rl.networks import QNetwork

profile = get_profile()
budget = profile.critical
set_theme()
side, gamma, levels = budget.grid_side, budget.gamma, budget.target_levels
corner = 3 * side // 4
room_rewards = {(side // 5, side // 3): 1.0, (corner, corner): -1.0, (side - 2, 1): 0.5}
environments = {
    "open room": tabular.open_grid(side, rewards=room_rewards),
    "four rooms": tabular.four_rooms(rewards={(2, 3): 1.0, (10, 9): -1.0, (4, 9): 0.5}),
}
seeds = jax.random.split(jax.random.PRNGKey(0), budget.seeds)
schedule, n_boot = budget.pretrain_schedule, budget.bootstrap_resamples
problems = {
    name: critical.grid_problem(env, gamma, levels, budget.seeds, budget.train_fraction)
    for name, env in environments.items()
}
print(
    f"profile {profile.name}: γ = {gamma}, {budget.seeds} seeds; MLP width "
    f"{budget.hidden}, Adam lr {budget.learning_rate}; pre-training lengths "
    f"{schedule}, then {budget.finetune_steps} fine-tuning steps"
)
for name, p in problems.items():
    print(f"\n{critical.energy_table(p, name)}")

# %% [markdown]
# ## Pre-training dose and roughness
#
# Every target is fitted for each of the profile's pre-training lengths (each a quarter of
# the next), and every pre-trained network is then fine-tuned on $V^\pi$ for as many steps
# as the network trained from scratch ({py:func}`~tdgen.critical.pretrain_sweep`).

# %%
sweeps = {n: critical.pretrain_sweep(p, seeds, budget) for n, p in problems.items()}
for name, p in problems.items():
    print(f"\n{name}\n{critical.sweep_table(p, sweeps[name], schedule)}")

# %% tags=["remove-output"]
fig = claim3.dose_figure(problems, sweeps, schedule, n_boot)
publish_figure(fig, "claim3_pretraining_dose", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_pretraining_dose
# :name: fig-claim3-dose
#
# Top row the open room, bottom row four rooms. Left: held-out error after fine-tuning on
# $V^\pi$ (standardised units; mean over seeds, 95% bootstrap intervals) against the
# Dirichlet energy of the pre-training target, smooth targets on the left, rough ones on
# the right. Circles and solid lines: eigenvectors of $P^\pi$; squares and dashed lines:
# sinusoids; stars: random labels; one colour per pre-training length; grey band: the
# network trained from scratch. If rough pre-training hurts, the curves rise from left to
# right and end above the band. Right: training error after fine-tuning (log scale), to
# check that every network has fitted $V^\pi$ where it was given targets, so that the left
# panels compare generalization and not under-fitting. Errors:
# {py:func}`~tdgen.critical.pretrain_sweep`; energies:
# {py:func}`~tdgen.critical.grid_problem`; drawn by
# {py:func}`~tdgen.plotting.claim3.dose_figure`.
# ```

# %% tags=["remove-output"]
fig = claim3.predictions_figure(problems, sweeps)
publish_figure(fig, "claim3_predictions", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_predictions
# :name: fig-claim3-predictions
#
# One seed; top two rows the open room, bottom two four rooms (walls grey). First row of
# each pair: the standardised value function and the predictions after fine-tuning of the
# network trained from scratch and of the one pre-trained longest on the roughest target
# (highest Dirichlet energy, named in the title). Second row: the seed's training states
# (yellow; the others are held out) and each network's error, prediction minus $V^\pi$.
# Each panel has its own colour scale, centred on zero; compare where, and how far from
# the training states, each network's errors fall. Predictions:
# {py:func}`~tdgen.critical.pretrain_sweep`; drawn by
# {py:func}`~tdgen.plotting.claim3.predictions_figure`.
# ```
#
# ## TD targets against regression targets
#
# If rough targets early in training hurt interpolation, TD should interpolate worse than
# regression on the same states: its early targets are rough. The same network, training
# states, initialisations and Adam budget serve semi-gradient TD and regression on $V^\pi$
# (Monte Carlo targets) ({py:func}`~tdgen.critical.value_fits`). TD's target at a training
# state, $R(s) + \gamma\sum_{s'}P^\pi(s,s')V_\theta(s')$, uses the network's own prediction
# at every successor $s'$, held-out ones included — that is what TD does with states it has
# no target for.

# %%
fits = {name: critical.value_fits(p, seeds, budget) for name, p in problems.items()}
for name, p in problems.items():
    print(f"{name}\n{critical.value_fit_table(p, fits[name])}")

# %% tags=["remove-output"]
publish_figure(claim3.td_mc_figure(problems, fits), "claim3_td_vs_mc", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_td_vs_mc
# :name: fig-claim3-td-mc
#
# The same network trained on the same training states with semi-gradient TD or with Monte
# Carlo regression targets, equal budgets ({py:func}`~tdgen.critical.value_fits`); top row
# the open room, bottom row four rooms. First column: error on the held-out states, one
# point per seed, lines joining runs that share initialisation and split. Second column:
# Dirichlet energy of the learned value function over all states (dashed: $V^\pi$). Right:
# the two learned functions for one seed. If TD interpolates worse, the TD points lie above
# the Monte Carlo ones. Drawn by {py:func}`~tdgen.plotting.claim3.td_mc_figure`.
# ```
#
# ## Deep RL: interpolating between a MinAtar agent's frames
#
# The paper also compares TD-trained and regression-trained networks on states visited by
# agents in MinAtar games. Here the states are the frames of the trained DQN agents of
# {doc}`04_interference` in Breakout-MinAtar ({py:func}`~tdgen.rl.agents.trained_agents`),
# each seed's agent playing ε-greedily ({py:func}`~tdgen.critical.agent_play`); every frame
# whose episode ended within the play is kept with its discounted return $G_t$ (γ = 0.9 as
# above, not the agent's 0.99, so that TD can propagate the rewards within the budget).
#
# **Interpolation.** Every third frame of a trajectory is a *training frame*; the two
# between consecutive training frames are *held out* ({py:func}`~tdgen.critical.frame_data`).
# Not every other frame: Breakout's ball moves one cell diagonally per step, so all
# held-out frames would have it on the other checkerboard colour; a prototype run with
# that split gave held-out errors above 1 (worse than predicting the mean return) for
# every arm — extrapolation to unseen ball positions, not interpolation.
#
# **Network and targets.** The agent's own network ({py:class}`~tdgen.rl.networks.QNetwork`)
# with one output, read as a state value, is fitted on the training frames by TD towards
# the three-step return to the next training frame, or by regression on $G_t$ (Monte
# Carlo), with the same initialisation, minibatches and budget. Errors are normalised
# ({py:func}`~tdgen.critical.normalised_mse`): 1 is the error of predicting the mean return.
#
# **Pre-training.** Each network is first fitted to a sinusoid $\sin(\omega u(x) + \varphi)$
# of a random projection $u(x)$ of the observation, then fine-tuned like the Monte Carlo
# arm, trained from scratch ({py:func}`~tdgen.critical.deep_value_fits`). The frequencies
# run from half a period across the range of $u$ to $\pi/\delta$, $\delta$ the median step
# of $u$ between consecutive frames, where the target typically changes sign between a
# training frame and its held-out neighbour ({py:func}`~tdgen.critical.frequency_range`).

# %%
game, epsilon, stride = "Breakout-MinAtar", 0.05, 3
# trained as claims 4 and 5 train theirs (tdgen.rl.agents); loaded when cached
agent_run = agents.trained_agents(profile, "DQN", game, progress=False)
final = jax.tree.map(lambda p: p[:, -1], agent_run.params)  # last checkpoints
play_env, key = make_env(game, budget.deep_envs), jax.random.PRNGKey(50)
actor = QNetwork(play_env.num_actions)
play = critical.agent_play(
    play_env, actor.apply, final, budget.seeds, epsilon, budget.deep_env_steps, key
)  # leaves [seeds, T, envs, ...]
frames = critical.frame_data(play, gamma, stride, budget.deep_levels)
print(
    f"{game}: {profile.agents.seeds} DQN agents (return over the last 10% of "
    f"training {runner.final_return(agent_run.metrics).round(2)}); {budget.seeds} "
    f"seeds, each {budget.deep_envs} × {budget.deep_env_steps} frames of ε-greedy play"
)
print(critical.frame_table(frames))
value_net, fit_key = QNetwork(1), jax.random.PRNGKey(60)
deep_fits = critical.deep_value_fits(value_net, frames, budget, stride, fit_key)
deep = critical.deep_errors(value_net.apply, frames, deep_fits)
print(critical.deep_error_table(frames.omegas, deep))

# %% tags=["remove-output"]
trajectory = critical.trajectory_values(play, gamma, value_net.apply, deep_fits, 120)
fig = claim3.deep_figure(game, frames.omegas, deep, trajectory, stride, n_boot)
publish_figure(fig, "claim3_deep_rl", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_deep_rl
# :name: fig-claim3-deep
#
# The same network trained on the frames of a trained DQN agent's play in
# Breakout-MinAtar. Left: normalised error (1 is predicting the mean return) of the TD and
# Monte Carlo fits, one point per seed, lines joining runs that share initialisation,
# minibatches and data; filled: held-out frames (interpolation), hollow: training frames
# (fit). If TD interpolates worse, the filled TD points lie above the Monte Carlo ones;
# compare with the hollow ones to see how much of that is fit rather than interpolation.
# Middle: error after fine-tuning against the pre-training frequency ω (log scale; mean
# over seeds, 95% bootstrap intervals); solid: held-out frames, dashed: training frames;
# grey band and lines: the network trained from scratch. If rough pre-training hurts, the
# solid curve rises from left to right and ends above the band. Right: one seed's returns
# $G_t$ along one trajectory (gaps: episodes unfinished at the end of the play) and the TD
# and Monte Carlo predictions; ticks: the training frames, everything between them is held
# out. Errors: {py:func}`~tdgen.critical.deep_errors` of the fits of
# {py:func}`~tdgen.critical.deep_value_fits`; the trajectory:
# {py:func}`~tdgen.critical.trajectory_values`; drawn by
# {py:func}`~tdgen.plotting.claim3.deep_figure`.
# ```
#
# ## Verdict
#
# Primary tests, in **each** environment (open room and four rooms), at the longest
# pre-training length, with 95% bootstrap intervals over seeds (each seed is one
# initialisation and one train/held-out split, shared by every arm), and two in
# Breakout-MinAtar (tests 4 and 5, intervals over its seeds: each one initialisation, one
# sequence of minibatches and one ε-greedy play of one agent, shared by every arm); the
# claim counts as reproduced only if all eight pass:
#
# 1. **Dose–response** ({numref}`fig-claim3-dose`, left): the Spearman correlation over
#    all pre-training targets — eigenvectors, sinusoids and random labels — between the
#    target's Dirichlet energy and the mean held-out error after fine-tuning must be at
#    least **0.5**.
# 2. **Roughest against scratch**: the ratio of mean held-out errors, network pre-trained on
#    the roughest target (highest Dirichlet energy, named above) over network trained from
#    scratch, must be at least **1** — the whole interval above 1.
# 3. **TD against Monte Carlo**: the ratio of mean held-out errors, TD over Monte Carlo,
#    must be at least **1**.
# 4. **Deep RL, TD against Monte Carlo** ({numref}`fig-claim3-deep`, left): the ratio of
#    mean normalised held-out errors, TD over Monte Carlo, must be at least **1**.
# 5. **Deep RL, dose–response** ({numref}`fig-claim3-deep`, middle): the Spearman
#    correlation over the pre-training frequencies between ω and the mean normalised
#    held-out error after fine-tuning must be at least **0.5**.
#
# Secondary, in each environment: the same two statistics at each shorter pre-training
# length; the Spearman correlation of test 1 within each family alone (eigenvectors;
# sinusoids), at the longest length, at least **0.5**; that every network has fitted its
# training states (largest mean training MSE over arms at most **0.05**, deterministic
# given the run); that TD's learned function is rougher than Monte Carlo's (ratio of mean
# Dirichlet energies at least **1**); and that TD has fitted $V^\pi$ on the training states
# (mean training MSE at most **0.05**). In Breakout-MinAtar: that pre-training on the
# highest frequency hurts (ratio of mean held-out errors over the network trained from
# scratch at least **1**), and that TD's generalization gap — held-out minus training
# error — exceeds Monte Carlo's (mean over seeds of the difference of the two gaps at least
# **0**), which separates interpolation from fit when TD fits its training frames less
# well.
#
# How these came about. Thresholds were fixed before the runs, except the last secondary
# test, added after the first quick run (open room only) showed TD far from $V^\pi$ even on
# its training states: read test 3 together with it. When TD has not fitted $V^\pi$ where
# it was trained, its held-out error measures where the TD fixed point lies when only part
# of the states get targets (the Bellman equations on the training states leave the
# held-out values free), not how a fitted function interpolates. The first version of this
# page had only the open room and, in test 1, only eigenvectors and random labels; the
# sinusoids, the four-rooms environment and the within-family tests were added together,
# with the thresholds above written down before any run that included them.
#
# The Breakout-MinAtar tests (4, 5 and their two secondary tests) and their thresholds were
# written down before the deep RL part was first run. Two prototype runs at the quick
# budget came before the design above, and their results were seen: one held out every
# other frame (held-out errors above 1 for every arm, see above); the other, with every
# third frame, had frequencies evenly spaced from $\pi/2$ to $\pi/\delta$ and gave a TD /
# Monte Carlo ratio of 1.03 (95% interval 0.97–1.10) and a Spearman correlation of 0.4, on
# four frequencies that all changed the target by about a radian or more between
# neighbouring frames. The frequency range was then widened down to half a period across
# the projection's range, as for the gridworld sinusoids; the thresholds were not changed.

# %%
over = dict(n_resamples=n_boot, ci_over="bootstrap over seeds")
secondary = dict(over, primary=False)
rho_at_least_half = partial(spearman_test, threshold=0.5, direction=">=", **over)
ratio_at_least_1 = partial(ratio_test, threshold=1.0, direction=">=", **over)
longest = len(schedule) - 1


def dose_test(name: str, j: int, family: str = ""):
    """Test 1 at pre-training length ``j`` (primary at the longest, over all targets)."""
    p, what = problems[name], f"{family} only" if family else "all targets"
    arms = np.flatnonzero(p.family == family) if family else np.arange(len(p.targets))
    return rho_at_least_half(
        f"{name}: held-out error rises with roughness, {what} ({schedule[j]} steps)",
        "Spearman ρ(energy of target, mean held-out MSE)",
        p.energy[arms],
        sweeps[name].test_error[:, arms, j],
        primary=j == longest and not family,
    )


def roughest_test(name: str, j: int):
    """Test 2 at pre-training length ``j`` (primary at the longest)."""
    return ratio_at_least_1(
        f"{name}: roughest pre-training hurts ({schedule[j]} steps)",
        "held-out MSE, roughest / scratch",
        sweeps[name].test_error[:, problems[name].roughest, j],
        sweeps[name].scratch_test,
        primary=j == longest,
    )


# %%
tests = []  # tests 1–3 (primary) and the secondary tests of each gridworld
for name, f in fits.items():
    s = sweeps[name]
    for j in range(len(schedule)):
        tests += [dose_test(name, j), roughest_test(name, j)]
    tests += [
        ratio_at_least_1(
            f"{name}: TD interpolates worse than Monte Carlo",
            "held-out MSE, TD / MC",
            f.test_error["td"],
            f.test_error["mc"],
        ),
        *(dose_test(name, longest, family) for family in ("eigenvectors", "sinusoids")),
        fixed_test(
            f"{name}: every network fits its training states",
            "largest mean training MSE after fine-tuning",
            max(s.train_error.mean(axis=0).max(), s.scratch_train.mean()),
            0.05,
            "<=",
            primary=False,
        ),
        ratio_at_least_1(
            f"{name}: TD learns a rougher function than Monte Carlo",
            "Dirichlet energy of V_θ, TD / MC",
            f.energy["td"],
            f.energy["mc"],
            primary=False,
        ),
        mean_test(
            f"{name}: TD fits V^π on its training states",
            "mean training MSE of TD",
            f.train_error["td"],
            0.05,
            "<=",
            **secondary,
        ),
    ]

# %%
tests += [  # tests 4 and 5 (primary) and the secondary tests in Breakout-MinAtar
    ratio_at_least_1(
        f"{game}: TD interpolates worse than Monte Carlo",
        "normalised held-out MSE, TD / MC",
        deep.held["td"],
        deep.held["mc"],
    ),
    rho_at_least_half(
        f"{game}: held-out error rises with the pre-training frequency",
        "Spearman ρ(ω, mean normalised held-out MSE)",
        frames.omegas,
        deep.held["pre"],
    ),
    ratio_at_least_1(
        f"{game}: highest-frequency pre-training hurts",
        "normalised held-out MSE, highest ω / scratch",
        deep.held["pre"][:, -1],
        deep.held["mc"],
        primary=False,
    ),
    mean_test(
        f"{game}: TD's generalization gap exceeds Monte Carlo's",
        "mean of (held-out − training) normalised MSE, TD − MC",
        (deep.held["td"] - deep.train["td"]) - (deep.held["mc"] - deep.train["mc"]),
        0.0,
        ">=",
        **secondary,
    ),
]

# %%
claim = record_claim(
    claim=3,
    title="Critical period",
    statement="Networks pre-trained on non-smooth targets generalize worse (interpolation "
    "to held-out states) after fine-tuning on V^π than networks trained from scratch, "
    "and TD-trained networks interpolate worse than regression-trained ones.",
    notebook="notebooks/03_critical_period",
    profile=profile.name,
    tests=sorted(tests, key=lambda t: not t.primary),  # primary first, in order
    figure=f"figures/{profile.name}/claim3_pretraining_dose.png",
)
Markdown(details(claim))

# %% [markdown]
# The table is generated from this run's results file, so its verdicts are those of the
# profile the page was built with; the [claims page](../book/claims.md) collects every
# claim's. The gridworld networks see coordinates of two small gridworlds and are
# fine-tuned with Adam on half of their states; the Breakout-MinAtar networks see a trained
# agent's frames, a third of them for training, with a few hundred Adam steps at the quick
# budget. A *not reproduced* row says that the effect does not show in that setting at
# this budget, with the numbers above.
