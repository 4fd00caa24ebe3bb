# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["remove-cell"]
# On Colab, install this release's pins (requirements-colab.txt: the versions of
# requirements.lock, with JAX for CUDA) and tdgen; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    REPO, REF = "https://github.com/tdgen-book/tdgen-book", "v0.1.0"
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
# each environment separately. The network — the same flax MLP with two hidden ReLU layers
# — sees each state's grid coordinates scaled to $[-1, 1]$. For each seed a random half of
# the states is drawn once as the *training states* — the three reward states are always
# among them, so that TD (below) sees every reward; the other half is held out, and the
# network's squared error there is the *interpolation* (generalization) error. The
# fine-tuning target is $V^\pi$, standardised to mean 0 and standard deviation 1 over
# states. The pre-training targets, also standardised, come in three families of
# increasing roughness:
#
# * **eigenvectors** of $P^\pi$ at evenly spaced ranks, from the smoothest non-constant one
#   (largest eigenvalue below 1) to the roughest (most negative eigenvalue);
# * **sinusoids** $g_l(s) = \sin(\omega_l\langle k, x(s)\rangle + \varphi_l)$ over the
#   scaled coordinates $x(s)$, with one random direction $k$ and a random phase per level,
#   and frequencies evenly spaced from $\pi/2$ (half a period across the grid) to the
#   grid's Nyquist frequency along the axis nearer to $k$
#   (`tdgen.critical.sinusoid_targets`) — rough functions that, unlike the eigenvectors,
#   know nothing of $P^\pi$ or of the walls;
# * i.i.d. Gaussian **random labels**.
#
# Each family has the profile's number of levels (random labels: one). Pre-training and
# fine-tuning both use the training states only — the network never gets a label for a
# held-out state — and Adam, with a fresh optimiser state for fine-tuning. Every (seed,
# pre-training target) pair is one jit-compiled run
# (`tdgen.critical.make_pretrain_finetune`), vmapped over seeds and targets; the network
# trained from scratch starts from the same initialisation and split, seed by seed. (The
# fits evaluate the network on the training states only — the same loss, at half the cost.)
#
# The last section repeats the two comparisons in deep RL: on the frames of a trained
# MinAtar agent's play, with the agent's own network and Monte Carlo returns as targets.

# %%
import operator
from types import SimpleNamespace

import jax
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown
from tdgen import critical, spectral, stats
from tdgen.dashboard import details
from tdgen.envs import make_env, tabular
from tdgen.plotting import grid_heatmap, publish_figure, set_theme
from tdgen.profiles import get_profile
from tdgen.results import ClaimTest, record_claim
from tdgen.rl import agents, policies, rollouts, runner, td
from tdgen.rl.networks import QNetwork

profile = get_profile()
budget = profile.critical
set_theme()
side, gamma, levels = budget.grid_side, budget.gamma, budget.target_levels
environments = {
    "open room": tabular.open_grid(
        side,
        rewards={
            (side // 5, side // 3): 1.0,
            (3 * side // 4, 3 * side // 4): -1.0,
            (side - 2, 1): 0.5,
        },
    ),
    "four rooms": tabular.four_rooms(rewards={(2, 3): 1.0, (10, 9): -1.0, (4, 9): 0.5}),
}
seeds = jax.random.split(jax.random.PRNGKey(0), budget.seeds)
schedule = budget.pretrain_schedule


def prepare(env: tabular.TabularEnv) -> SimpleNamespace:
    """Inputs, standardised value problem, pre-training targets and splits of one gridworld."""
    mu = spectral.stationary_distribution(env.P)
    eig = spectral.eigendecomposition(env.P)
    x = tabular.encode_states(env, "coordinates")
    R_std, v_std = critical.standardised_value_problem(env.P, env.R, gamma)
    ranks, eigen_targets = critical.eigenvector_targets(eig, levels)
    spacing = 2 / (min(env.shape) - 1)  # between neighbouring cells, scaled coordinates
    omegas, sine_targets = critical.sinusoid_targets(x, levels, spacing)
    random_labels = critical.random_label_target(env.n_states)
    targets = np.vstack([eigen_targets, sine_targets, random_labels])
    family = np.array(
        ["eigenvectors"] * levels + ["sinusoids"] * levels + ["random labels"]
    )
    labels = (
        [f"eigenvector λ = {eig.values[r]:+.2f}" for r in ranks]
        + [f"sinusoid ω = {w:.1f}" for w in omegas]
        + ["random labels"]
    )
    energy = spectral.dirichlet_energy(spectral.centre(targets, mu), env.P, mu)
    masks = critical.train_masks(
        env.n_states,
        budget.seeds,
        budget.train_fraction,
        always=np.flatnonzero(env.R),
    )
    return SimpleNamespace(
        env=env,
        mu=mu,
        x=x,
        R_std=R_std,
        v_std=v_std,
        targets=targets,
        family=family,
        labels=labels,
        energy=energy,
        energy_v=float(
            spectral.dirichlet_energy(spectral.centre(v_std, mu), env.P, mu)
        ),
        roughest=int(np.argmax(energy)),
        masks=masks,
        held_out=~masks,
    )


runs = {name: prepare(env) for name, env in environments.items()}
print(f"profile {profile.name}: γ = {gamma}, {budget.seeds} seeds")
print(
    f"MLP width {budget.hidden}, Adam lr {budget.learning_rate}; pre-training lengths "
    f"{schedule}, then {budget.finetune_steps} fine-tuning steps"
)
for name, r in runs.items():
    print(
        f"\n{name} ({r.env.name}): {r.env.n_states} states, {r.masks[0].sum()} training"
        f" / {r.held_out[0].sum()} held-out"
    )
    for label, e in zip(r.labels, r.energy):
        print(f"  {label:28s} Dirichlet energy {e:.3f}")
    print(f"  {'V^π (fine-tuning target)':28s} Dirichlet energy {r.energy_v:.3f}")
    print(f"  roughest pre-training target: {r.labels[r.roughest]}")

# %% [markdown]
# ## Pre-training dose and roughness
#
# Every pre-training target is fitted for each of the profile's pre-training lengths (each
# a quarter of the next), and every pre-trained network is then fine-tuned on $V^\pi$ for
# the same number of steps as the network trained from scratch.


# %%
def mse(f: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean squared error over the masked states; ``mask`` broadcasts against ``f``."""
    return np.asarray(critical.masked_mse(f, y, mask))


for name, r in runs.items():
    n_train = int(r.masks[0].sum())  # every split has as many training states
    run = critical.make_pretrain_finetune(
        r.x,
        budget.hidden,
        budget.learning_rate,
        schedule,
        budget.finetune_steps,
        n_train=n_train,
    )
    over_targets = jax.vmap(run, in_axes=(None, 0, None, None))
    pretrained, r.finetuned = map(
        np.asarray,
        jax.vmap(over_targets, in_axes=(0, None, None, 0))(
            seeds, r.targets, r.v_std, r.masks
        ),
    )  # [seeds, targets, lengths, n]
    scratch_run = critical.make_pretrain_finetune(
        r.x,
        budget.hidden,
        budget.learning_rate,
        (0,),
        budget.finetune_steps,
        n_train=n_train,
    )
    _, scratch = jax.vmap(scratch_run, in_axes=(0, None, None, 0))(
        seeds, r.v_std, r.v_std, r.masks
    )
    r.scratch = np.asarray(scratch)[:, 0]  # [seeds, n]
    per_seed = r.masks[:, None, None, :]
    pretrain_error = mse(pretrained, r.targets[None, :, None, :], per_seed)
    r.train_error = mse(r.finetuned, r.v_std, per_seed)  # [seeds, targets, lengths]
    r.test_error = mse(r.finetuned, r.v_std, ~per_seed)
    r.scratch_train = mse(r.scratch, r.v_std, r.masks)
    r.scratch_test = mse(r.scratch, r.v_std, r.held_out)
    print(
        f"\n{name}\n{'pre-training target':28s} {'steps':>6s} {'pre-train':>9s} "
        f"{'train':>7s} {'held-out':>8s}"
    )
    print(
        f"{'(from scratch)':28s} {0:6d} {'':9s} {r.scratch_train.mean():7.4f} "
        f"{r.scratch_test.mean():8.3f}"
    )
    for k, label in enumerate(r.labels):
        for j, steps in enumerate(schedule):
            print(
                f"{label:28s} {steps:6d} {pretrain_error[:, k, j].mean():9.3f} "
                f"{r.train_error[:, k, j].mean():7.4f} {r.test_error[:, k, j].mean():8.3f}"
            )

# %% tags=["remove-output"]
n_boot = budget.bootstrap_resamples


def mean_ci(samples: np.ndarray) -> tuple[float, float]:
    """95% bootstrap interval of the mean over seeds (a point when there is one seed)."""
    ci = stats.bootstrap_ci(samples, n_resamples=n_boot)
    return (float(samples.mean()),) * 2 if ci is None else ci


styles = {
    "eigenvectors": ("o", "-"),
    "sinusoids": ("s", "--"),
    "random labels": ("*", "none"),
}
colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
fig, axes = plt.subplots(2, 2, figsize=(12, 9.4), layout="constrained")
for row, (name, r) in zip(axes, runs.items()):
    lo, hi = mean_ci(r.scratch_test)
    row[0].axhspan(lo, hi, color="0.8", label="from scratch (95% CI)")
    row[0].axhline(r.scratch_test.mean(), color="0.4", lw=1)
    row[1].axhline(r.scratch_train.mean(), color="0.4", lw=1, label="from scratch")
    for j, steps in enumerate(schedule):
        for fam, (marker, ls) in styles.items():
            arms = np.flatnonzero(r.family == fam)
            arms = arms[np.argsort(r.energy[arms])]
            for ax, error in ((row[0], r.test_error), (row[1], r.train_error)):
                means = error[:, arms, j].mean(axis=0)
                cis = np.array([mean_ci(error[:, k, j]) for k in arms])
                ax.errorbar(
                    r.energy[arms],
                    means,
                    yerr=[means - cis[:, 0], cis[:, 1] - means],
                    marker=marker,
                    ls=ls,
                    ms=10 if fam == "random labels" else 6,
                    color=colours[j],
                    capsize=3,
                    label=f"{fam}, {steps} pre-training steps",
                )
    row[0].set_title(f"{name}: held-out error")
    row[1].set_title(f"{name}: training error")
    row[0].set_ylabel("held-out MSE after fine-tuning")
    row[1].set_yscale("log")
    row[1].set_ylabel("training MSE after fine-tuning")
handles, names = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, names, loc="outside lower center", ncols=4, fontsize="small")
for ax in axes[1]:
    ax.set_xlabel("Dirichlet energy of the pre-training target")
publish_figure(fig, "claim3_pretraining_dose", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_pretraining_dose
# :name: fig-claim3-dose
#
# Top row the open room, bottom row four rooms. Left: error on the held-out states after
# fine-tuning on $V^\pi$ (standardised units, mean over seeds with 95% bootstrap
# intervals), against the Dirichlet energy of the target the network was pre-trained on —
# smooth targets on the left, rough ones on the right. Circles and solid lines:
# eigenvectors of $P^\pi$; squares and dashed lines: sinusoids; stars: random labels. One
# colour per pre-training length; the grey band is the network trained from scratch. If
# rough pre-training hurts, the curves rise from left to right and end above the band.
# Right: the error on the training states at the end of fine-tuning, on a log scale, to
# check that every network has fitted $V^\pi$ where it was given targets, so that the left
# panels compare generalization and not under-fitting.
# ```

# %% tags=["remove-output"]
fig, axes = plt.subplots(4, 3, figsize=(11, 15), layout="constrained")
for (name, r), top, bottom in zip(runs.items(), axes[0::2], axes[1::2]):
    env, worst = r.env, r.finetuned[0, r.roughest, -1]
    grid_heatmap(top[0], env, r.v_std, title=f"{name}: V^π (standardised)")
    grid_heatmap(top[1], env, r.scratch[0], title="from scratch")
    grid_heatmap(top[2], env, worst, title=f"pre-trained on {r.labels[r.roughest]}")
    grid_heatmap(
        bottom[0],
        env,
        r.masks[0].astype(float),
        title="training states",
        symmetric=False,
    )
    grid_heatmap(bottom[1], env, r.scratch[0] - r.v_std, title="error, from scratch")
    grid_heatmap(bottom[2], env, worst - r.v_std, title="error, pre-trained")
publish_figure(fig, "claim3_predictions", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_predictions
# :name: fig-claim3-predictions
#
# One seed; top two rows the open room, bottom two four rooms (walls grey). First row of
# each pair: the standardised value function, and the predictions after fine-tuning of the
# network trained from scratch and of the network pre-trained for the longest time on the
# roughest target (highest Dirichlet energy, named in the title). Second row: the seed's
# training states (yellow; the others are held out) and each network's error, prediction
# minus $V^\pi$. Each panel has its own colour scale, centred on zero; compare where, and
# how far from the training states, each network's errors fall.
# ```
#
# ## TD targets against regression targets
#
# If rough targets early in training hurt interpolation, TD should interpolate worse than
# regression on the same states: its early targets are rough. We train the same network on
# the same training states, from the same initialisations, with Adam for the same number
# of steps, either by semi-gradient TD on the rescaled reward whose value function is the
# standardised $V^\pi$ (`tdgen.critical.standardised_value_problem`) or by regression on
# that $V^\pi$ itself (Monte Carlo targets). The TD target of a training state,
# $R(s) + \gamma\sum_{s'}P^\pi(s,s')V_\theta(s')$, uses the network's own prediction at
# every successor $s'$, held-out ones included — that is what TD does with states it has no
# target for — but only training states are regressed onto their targets.

# %%
for name, r in runs.items():
    values = {}
    for target in ("td", "mc"):
        fit = critical.make_value_fit(
            r.x,
            r.env.P,
            r.R_std,
            gamma,
            target,
            budget.hidden,
            budget.learning_rate,
            budget.value_steps,
        )
        values[target] = np.asarray(jax.vmap(fit)(seeds, r.masks))  # [seeds, n]
    r.values = values
    r.value_test = {t: mse(v, r.v_std, r.held_out) for t, v in values.items()}
    r.value_train = {t: mse(v, r.v_std, r.masks) for t, v in values.items()}
    r.value_energy = {
        t: spectral.dirichlet_energy(spectral.centre(v, r.mu), r.env.P, r.mu)
        for t, v in values.items()
    }
    for t in values:
        print(
            f"{name}, {t.upper()}: training MSE {r.value_train[t].mean():.4f}, "
            f"held-out MSE {r.value_test[t].mean():.3f}, Dirichlet energy "
            f"{r.value_energy[t].mean():.3f} (V^π: {r.energy_v:.3f})"
        )

# %% tags=["remove-output"]
fig, axes = plt.subplots(2, 4, figsize=(15, 7.6), layout="constrained")
for row, (name, r) in zip(axes, runs.items()):
    for ax, measure, ylabel in (
        (row[0], r.value_test, "held-out MSE"),
        (row[1], r.value_energy, "Dirichlet energy of V_θ"),
    ):
        ax.plot([0, 1], np.stack([measure["td"], measure["mc"]]), color="0.7", lw=0.8)
        ax.scatter(np.zeros(budget.seeds), measure["td"], label="TD")
        ax.scatter(np.ones(budget.seeds), measure["mc"], label="Monte Carlo")
        ax.set_xticks([0, 1], ["TD", "Monte Carlo"])
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylabel(ylabel)
    row[0].set_title(name)
    row[1].axhline(r.energy_v, color="k", ls="--", lw=1, label="V^π")
    row[1].legend(loc="best", fontsize="small")
    grid_heatmap(row[2], r.env, r.values["td"][0], title="TD, one seed")
    grid_heatmap(row[3], r.env, r.values["mc"][0], title="Monte Carlo, same seed")
publish_figure(fig, "claim3_td_vs_mc", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_td_vs_mc
# :name: fig-claim3-td-mc
#
# The same network trained on the same training states with semi-gradient TD or with Monte
# Carlo regression targets, equal budgets; top row the open room, bottom row four rooms.
# First column: error on the held-out states, one point per seed, lines joining runs that
# share initialisation and split. Second column: Dirichlet energy of the learned value
# function over all states (dashed: $V^\pi$). Right: the two learned functions for one
# seed. If TD interpolates worse, the TD points lie above the Monte Carlo ones.
# ```
#
# ## Deep RL: interpolating between a MinAtar agent's frames
#
# The paper also compares TD-trained and regression-trained networks on states visited by
# agents in MinAtar games. Here the states are the frames of the trained DQN agents of
# {doc}`04_interference` (Breakout-MinAtar, loaded from the agents' cache, trained there
# if missing). Each seed lets one of the agents (seed $i$ takes agent $i$ mod the number of
# agents) play ε-greedily (ε = 0.05) in the profile's number of parallel environments, with
# its own environment keys, and keeps every frame whose episode ended within the play, with
# its discounted Monte Carlo return $G_t$ (γ from the profile, 0.9 as above, not the agent's
# 0.99, so that TD can propagate the rewards within the budget).
#
# **Interpolation.** In every trajectory frame $t$ is a *training frame* when $t$ is a
# multiple of 3, and the two frames between consecutive training frames are *held out*
# (`tdgen.critical.interleaved_frames`). Every third frame rather than every other one:
# Breakout's ball moves one cell diagonally per step, so the parity of its cell alternates
# from frame to frame, and with every other frame held out all held-out frames — and no
# training frame — would have the ball on the other checkerboard colour. A prototype run
# with that split gave held-out errors above 1 (worse than predicting the mean return) for
# every arm; that is extrapolation to unseen ball positions, not interpolation. Each
# seed's frames are cut to the smallest number over seeds so that all seeds run as one
# vmap.
#
# **Network and targets.** The agent's own network (`QNetwork`: the MinAtar convolutional
# torso) with a single output, read as a state value $V_\theta(x)$, freshly initialised.
# TD learns the value of the ε-greedy policy that played, not of its greedy policy
# (Q-learning's targets would aim at the greedy policy's values, which the Monte Carlo
# returns of the ε-greedy play do not measure): on a training frame the TD target is the
# three-step return to the next training frame,
# $R_t + \gamma^3 (1 - D_t) V_{\theta^-}(x_{t+3})$ with $R_t$ the discounted rewards of
# steps $t, t+1, t+2$ (cut at an episode end, $D_t = 1$), so TD sees every reward but never
# a held-out frame, not even as a successor; θ⁻ is copied from θ every `deep_target_every`
# steps. Monte Carlo regression targets $G_t$. Both are
# `tdgen.rl.offline.make_offline_fit` — Adam, the same initialisation and the same
# minibatches of training frames, equal budgets; only the target differs. Errors are mean
# squared errors against $G_t$ divided by the variance of $G_t$ over the same frames (0 is
# a perfect fit, 1 the error of predicting the mean return), on the held-out frames
# (interpolation) and on the training frames (fit).
#
# **Pre-training.** Pre-training targets are rough functions of the observation: with $u(x)$
# the projection $\langle w, \mathrm{vec}\,x\rangle$ of the flattened binary observation on
# one random unit direction $w$, standardised over the seed's training frames,
# $g_\omega(x) = \sin(\omega u(x) + \varphi)$, standardised
# (`tdgen.critical.projection_sinusoids`). The frequencies are geometrically spaced from
# half a period across the range of $u$ on the training frames (the analogue of the
# gridworld sinusoids' lowest frequency) to $\pi / \delta$, with $\delta$ the median
# $|u(x_{t+1}) - u(x_t)|$ between consecutive frames of the play: at the top frequency the
# target changes sign between a training frame and its held-out neighbour, typically — the
# analogue of the grid's Nyquist frequency. Each network is pre-trained by regression on
# one $g_\omega$ on the training frames for `deep_pretrain_steps` steps, then fine-tuned by
# Monte Carlo regression for as many steps as the Monte Carlo arm, from a fresh optimiser
# state and with the same minibatches; the Monte Carlo arm is the network fine-tuned from
# scratch (`tdgen.critical.make_deep_value_fits`, one jit-compiled run per seed, vmapped
# over seeds).

# %%
game, epsilon, stride = "Breakout-MinAtar", 0.05, 3
# trained as claims 4 and 5 train theirs (tdgen.rl.agents); loaded when cached
agent_run = agents.trained_agents(profile, "DQN", game, progress=False)
final_agents = jax.tree.map(lambda p: p[:, -1], agent_run.params)
n_agents = agent_run.metrics["episodes"].shape[0]
players = jax.tree.map(lambda p: p[np.arange(budget.seeds) % n_agents], final_agents)
play_env = make_env(game, budget.deep_envs)
behaviour = policies.epsilon_greedy(QNetwork(play_env.num_actions).apply, epsilon)
play = jax.device_get(
    jax.jit(
        jax.vmap(
            lambda p, k: rollouts.rollout(
                play_env, behaviour, p, budget.deep_env_steps, k
            )
        )
    )(players, jax.random.split(jax.random.PRNGKey(50), budget.seeds))
)  # leaves [seeds, T, envs, ...]
splits = [
    critical.interleaved_frames(
        jax.tree.map(operator.itemgetter(s), play), gamma, stride
    )
    for s in range(budget.seeds)
]


def stack_frames(parts: list[dict], n: int) -> dict:
    """The first ``n`` frames of every seed, stacked: leaves ``[seeds, n, ...]``."""
    return jax.tree.map(lambda *a: np.stack([x[:n] for x in a]), *parts)


sizes = np.array([[t["obs"].shape[0], h["obs"].shape[0]] for t, h in splits])
deep = SimpleNamespace(
    train=stack_frames([t for t, _ in splits], sizes[:, 0].min()),
    held=stack_frames([h for _, h in splits], sizes[:, 1].min()),
)
raw = np.stack([critical.random_projection(x) for x in deep.train["obs"]])
centre, scale = raw.mean(axis=1, keepdims=True), raw.std(axis=1, keepdims=True)
u = (raw - centre) / scale  # [seeds, training frames]
obs_shape = play["obs"].shape[3:]
along_play = critical.random_projection(play["obs"].reshape(-1, *obs_shape))
along_play = along_play.reshape(play["obs"].shape[:3]) / scale[:, :, None]
spacing = float(np.median(np.abs(np.diff(along_play, axis=1))))
span = float(np.median(u.max(axis=1) - u.min(axis=1)))
deep.omegas = np.geomspace(np.pi / span, np.pi / spacing, budget.deep_levels)
deep.targets = np.stack(
    [critical.projection_sinusoids(row, deep.omegas) for row in u]
).astype(np.float32)  # [seeds, levels, training frames]
print(
    f"{game}: {profile.agents.seeds} DQN agents (return over the last 10% of "
    f"training {runner.final_return(agent_run.metrics).round(2)}); {budget.seeds} "
    f"seeds, each {budget.deep_envs} × {budget.deep_env_steps} frames of ε-greedy play"
)
print(
    f"frames kept per seed (finished episodes): {sizes[:, 0].min()}–{sizes[:, 0].max()} "
    f"training, {sizes[:, 1].min()}–{sizes[:, 1].max()} held-out; cut to "
    f"{deep.train['obs'].shape[1]} and {deep.held['obs'].shape[1]}"
)
print(
    f"returns G_t: mean {deep.held['mc_return'].mean():.3f}, std "
    f"{deep.held['mc_return'].std():.3f} (held-out frames)"
)
print(
    f"projection: median range {span:.2f}, median step between frames {spacing:.3f}; "
    f"ω = {np.round(deep.omegas, 2)}"
)

# %%
value_net = QNetwork(1)
init_keys, fit_keys = jax.random.split(jax.random.PRNGKey(60), (2, budget.seeds))
inits = jax.vmap(value_net.init, in_axes=(0, None))(init_keys, deep.train["obs"][0, :1])
deep_fits = critical.make_deep_value_fits(
    value_net.apply,
    gamma,
    stride,
    budget.deep_steps,
    budget.deep_pretrain_steps,
    budget.deep_batch_size,
    budget.deep_learning_rate,
    budget.deep_target_every,
)
td_net, pretrained_nets, finetuned_nets = jax.vmap(deep_fits)(
    fit_keys, inits, deep.train, deep.targets
)
value_of = jax.jit(jax.vmap(lambda p, x: value_net.apply(p, x)[..., 0]))
values_of = jax.jit(
    jax.vmap(jax.vmap(lambda p, x: value_net.apply(p, x)[..., 0], in_axes=(0, None)))
)
deep.error = {}  # arm -> frames -> normalised MSE [seeds] (pre-trained arms: [seeds, levels])
for frames, data in (("train", deep.train), ("held", deep.held)):
    g = data["mc_return"]
    finetuned = np.asarray(values_of(finetuned_nets, data["obs"]))
    for arm, v in (
        ("td", np.asarray(value_of(td_net, data["obs"]))),
        ("mc", finetuned[:, 0]),
    ):
        deep.error.setdefault(arm, {})[frames] = critical.normalised_mse(v, g)
    deep.error.setdefault("pre", {})[frames] = critical.normalised_mse(
        finetuned[:, 1:], g[:, None]
    )
pretrain_error = critical.normalised_mse(
    np.asarray(values_of(pretrained_nets, deep.train["obs"])), deep.targets
)  # [seeds, levels]
print(f"{'arm':30s} {'pre-train':>9s} {'training':>8s} {'held-out':>8s}")
for arm, label in (("td", "TD"), ("mc", "Monte Carlo (from scratch)")):
    e = deep.error[arm]
    print(f"{label:30s} {'':9s} {e['train'].mean():8.3f} {e['held'].mean():8.3f}")
for level, omega in enumerate(deep.omegas):
    e = deep.error["pre"]
    print(
        f"{f'pre-trained, ω = {omega:.2f}':30s} "
        f"{pretrain_error[:, level].mean():9.3f} "
        f"{e['train'][:, level].mean():8.3f} {e['held'][:, level].mean():8.3f}"
    )

# %% tags=["remove-output"]
fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), layout="constrained")
ax = axes[0]
for x, frames, fill in ((0, "held", True), (1, "train", False)):
    td_e, mc_e = deep.error["td"][frames], deep.error["mc"][frames]
    ax.plot([2 * x, 2 * x + 1], np.stack([td_e, mc_e]), color="0.7", lw=0.8, zorder=1)
    for offset, e, colour in ((0, td_e, colours[0]), (1, mc_e, colours[1])):
        ax.scatter(
            np.full(budget.seeds, 2 * x + offset),
            e,
            facecolors=colour if fill else "none",
            edgecolors=colour,
        )
ax.set_xticks(
    [0, 1, 2, 3], ["TD\nheld-out", "MC\nheld-out", "TD\ntraining", "MC\ntraining"]
)
ax.set_ylabel("normalised MSE against G_t")
ax.set_title(f"{game}: TD against Monte Carlo")
ax = axes[1]
lo, hi = mean_ci(deep.error["mc"]["held"])
ax.axhspan(lo, hi, color="0.8", label="from scratch, held-out (95% CI)")
ax.axhline(deep.error["mc"]["held"].mean(), color="0.4", lw=1)
for frames, ls, label in (("held", "-", "held-out"), ("train", "--", "training")):
    e = deep.error["pre"][frames]
    cis = np.array([mean_ci(e[:, k]) for k in range(len(deep.omegas))])
    means = e.mean(axis=0)
    ax.errorbar(
        deep.omegas,
        means,
        yerr=[means - cis[:, 0], cis[:, 1] - means],
        marker="o",
        ls=ls,
        capsize=3,
        label=f"pre-trained, {label} frames",
    )
ax.axhline(
    deep.error["mc"]["train"].mean(),
    color="0.4",
    lw=1,
    ls="--",
    label="from scratch, training",
)
ax.set_xscale("log")
ax.set_xticks(deep.omegas, [f"{w:.2g}" for w in deep.omegas])
ax.minorticks_off()
ax.set_xlabel("frequency ω of the pre-training target")
ax.set_ylabel("normalised MSE after fine-tuning")
ax.set_title("pre-training on sin(ω u(x) + φ)")
ax.legend(fontsize="small")
ax = axes[2]
returns, finished = map(
    np.asarray, td.discounted_returns(play["reward"][0], play["done"][0], gamma)
)
shown = np.arange(min(120, budget.deep_env_steps))
trajectory = play["obs"][0, shown, 0]
first = jax.tree.map(lambda p: p[0], (td_net, finetuned_nets))
ax.plot(
    shown,
    np.where(finished[shown, 0], returns[shown, 0], np.nan),
    "k",
    lw=1.5,
    label="G_t",
)
for name, v, colour in (
    ("TD", value_net.apply(first[0], trajectory)[:, 0], colours[0]),
    (
        "Monte Carlo",
        value_net.apply(jax.tree.map(lambda p: p[0], first[1]), trajectory)[:, 0],
        colours[1],
    ),
):
    ax.plot(shown, v, color=colour, lw=1, label=name)
train_t = shown[shown % stride == 0]
ax.scatter(
    train_t,
    np.full(train_t.size, ax.get_ylim()[0]),
    marker="|",
    color="k",
    label="training frames",
)
ax.set_xlabel("step t of one trajectory")
ax.set_ylabel("value")
ax.set_title("one seed, one environment")
ax.legend(fontsize="small")
publish_figure(fig, "claim3_deep_rl", profile.name)

# %% [markdown]
# ```{glue:figure} claim3_deep_rl
# :name: fig-claim3-deep
#
# The same network trained on the frames of a trained DQN agent's play in
# Breakout-MinAtar. Left: normalised error (mean squared error against the Monte Carlo
# return over the variance of the return; 1 is predicting the mean) of the TD and the
# Monte Carlo fits, one point per seed and lines joining runs that share initialisation,
# minibatches and data; filled: held-out frames (interpolation), hollow: training frames
# (fit). If TD interpolates worse, the filled TD points lie above the Monte Carlo ones;
# compare with the hollow ones to see how much of that is fit rather than interpolation.
# Middle: error after Monte Carlo fine-tuning of networks pre-trained on sinusoids of a
# random projection of the observation, against the frequency (log scale; mean over seeds
# with 95% bootstrap intervals); solid: held-out frames, dashed: training frames; grey band
# and lines: the network trained from scratch. If rough pre-training hurts, the solid
# curve rises from left to right and ends above the band. Right: one seed's returns $G_t$
# along the first steps of one trajectory (gaps: episodes unfinished at the end of the
# play) and the TD and Monte Carlo predictions on every frame; ticks: the training frames,
# everything between them is held out.
# ```
#
# ## Verdict
#
# Primary tests, in **each** environment (open room and four rooms), with 95% bootstrap
# intervals over seeds (each seed is one initialisation and one train/held-out split,
# shared by every arm), at the longest pre-training length, and two in Breakout-MinAtar
# (tests 4 and 5, intervals over its seeds: each one initialisation, one sequence of
# minibatches and one ε-greedy play of one agent, shared by every arm); the claim counts
# as reproduced only if all eight pass:
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
over_seeds = "bootstrap over seeds"


def spearman_test(
    name: str, r: SimpleNamespace, arms: np.ndarray, j: int, what: str, primary: bool
) -> ClaimTest:
    """Spearman ρ between the energy of the targets ``arms`` and their mean held-out error."""
    errors = r.test_error[:, arms, j]  # [seeds, arms]
    boot = stats.bootstrap_means(errors, n_boot)
    return ClaimTest(
        f"{name}: held-out error rises with roughness, {what} ({schedule[j]} steps)",
        "Spearman ρ(energy of target, mean held-out MSE)",
        stats.spearman(r.energy[arms], errors.mean(axis=0)),
        stats.percentile_interval(
            np.array([stats.spearman(r.energy[arms], b) for b in boot])
        ),
        over_seeds,
        0.5,
        ">=",
        primary=primary,
    )


def roughest_test(name: str, r: SimpleNamespace, j: int, primary: bool) -> ClaimTest:
    """Held-out error after pre-training on the roughest target over that from scratch."""
    pairs = np.stack([r.test_error[:, r.roughest, j], r.scratch_test], axis=1)
    return ClaimTest(
        f"{name}: roughest pre-training hurts ({schedule[j]} steps)",
        "held-out MSE, roughest / scratch",
        stats.ratio_of_means(pairs),
        stats.bootstrap_ci(pairs, stats.ratio_of_means, n_resamples=n_boot),
        over_seeds,
        1.0,
        ">=",
        primary=primary,
    )


def td_mc_test(name: str, r: SimpleNamespace) -> ClaimTest:
    """Held-out error of TD over that of Monte Carlo regression, paired by seed."""
    pairs = np.stack([r.value_test["td"], r.value_test["mc"]], axis=1)
    return ClaimTest(
        f"{name}: TD interpolates worse than Monte Carlo",
        "held-out MSE, TD / MC",
        stats.ratio_of_means(pairs),
        stats.bootstrap_ci(pairs, stats.ratio_of_means, n_resamples=n_boot),
        over_seeds,
        1.0,
        ">=",
    )


def secondary_tests(name: str, r: SimpleNamespace) -> list[ClaimTest]:
    """Shorter pre-training, each family alone, training fits and TD's roughness."""
    every = np.arange(len(r.targets))
    tests = []
    for j in range(len(schedule) - 1):
        tests.append(spearman_test(name, r, every, j, "all targets", primary=False))
        tests.append(roughest_test(name, r, j, primary=False))
    for fam in ("eigenvectors", "sinusoids"):
        arms = np.flatnonzero(r.family == fam)
        tests.append(spearman_test(name, r, arms, -1, f"{fam} only", primary=False))
    energy_pairs = np.stack([r.value_energy["td"], r.value_energy["mc"]], axis=1)
    largest_train = max(r.train_error.mean(axis=0).max(), r.scratch_train.mean())
    tests += [
        ClaimTest(
            f"{name}: every network fits its training states",
            "largest mean training MSE after fine-tuning",
            float(largest_train),
            None,
            None,
            0.05,
            "<=",
            primary=False,
        ),
        ClaimTest(
            f"{name}: TD learns a rougher function than Monte Carlo",
            "Dirichlet energy of V_θ, TD / MC",
            stats.ratio_of_means(energy_pairs),
            stats.bootstrap_ci(energy_pairs, stats.ratio_of_means, n_resamples=n_boot),
            over_seeds,
            1.0,
            ">=",
            primary=False,
        ),
        ClaimTest(
            f"{name}: TD fits V^π on its training states",
            "mean training MSE of TD",
            float(r.value_train["td"].mean()),
            stats.bootstrap_ci(r.value_train["td"], n_resamples=n_boot),
            over_seeds,
            0.05,
            "<=",
            primary=False,
        ),
    ]
    return tests


def deep_tests() -> list[ClaimTest]:
    """Breakout-MinAtar: TD against Monte Carlo, and the pre-training dose (two primary)."""
    name = game
    held = np.stack([deep.error["td"]["held"], deep.error["mc"]["held"]], axis=1)
    pre_held = deep.error["pre"]["held"]  # [seeds, levels]
    boot = stats.bootstrap_means(pre_held, n_boot)
    roughest = np.stack([pre_held[:, -1], deep.error["mc"]["held"]], axis=1)
    gap = {a: deep.error[a]["held"] - deep.error[a]["train"] for a in ("td", "mc")}
    gap_difference = gap["td"] - gap["mc"]
    return [
        ClaimTest(
            f"{name}: TD interpolates worse than Monte Carlo",
            "normalised held-out MSE, TD / MC",
            stats.ratio_of_means(held),
            stats.bootstrap_ci(held, stats.ratio_of_means, n_resamples=n_boot),
            over_seeds,
            1.0,
            ">=",
        ),
        ClaimTest(
            f"{name}: held-out error rises with the pre-training frequency",
            "Spearman ρ(ω, mean normalised held-out MSE)",
            stats.spearman(deep.omegas, pre_held.mean(axis=0)),
            stats.percentile_interval(
                np.array([stats.spearman(deep.omegas, b) for b in boot])
            ),
            over_seeds,
            0.5,
            ">=",
        ),
        ClaimTest(
            f"{name}: highest-frequency pre-training hurts",
            "normalised held-out MSE, highest ω / scratch",
            stats.ratio_of_means(roughest),
            stats.bootstrap_ci(roughest, stats.ratio_of_means, n_resamples=n_boot),
            over_seeds,
            1.0,
            ">=",
            primary=False,
        ),
        ClaimTest(
            f"{name}: TD's generalization gap exceeds Monte Carlo's",
            "mean of (held-out − training) normalised MSE, TD − MC",
            float(gap_difference.mean()),
            stats.bootstrap_ci(gap_difference, n_resamples=n_boot),
            over_seeds,
            0.0,
            ">=",
            primary=False,
        ),
    ]


longest = len(schedule) - 1
tests = []
for name, r in runs.items():
    every = np.arange(len(r.targets))
    tests += [
        spearman_test(name, r, every, longest, "all targets", primary=True),
        roughest_test(name, r, longest, primary=True),
        td_mc_test(name, r),
    ]
deep_results = deep_tests()
tests += [t for t in deep_results if t.primary]
for name, r in runs.items():
    tests += secondary_tests(name, r)
tests += [t for t in deep_results if not t.primary]
claim = record_claim(
    claim=3,
    title="Critical period",
    statement="Networks pre-trained on non-smooth targets generalize worse (interpolation "
    "to held-out states) after fine-tuning on V^π than networks trained from scratch, "
    "and TD-trained networks interpolate worse than regression-trained ones.",
    notebook="notebooks/03_critical_period",
    profile=profile.name,
    tests=tests,
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
