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
# # Claim 1 – Eigenvalues of the transition matrix and smoothness
#
# ```{include} ../book/_notebook_note.md
# ```
#
# **Claim** {cite}`lyle2022learning`: the eigendecomposition of a policy's transition
# matrix $P^\pi$ gives a notion of smoothness *with respect to the dynamics*.
# Eigenvectors with large positive eigenvalues are smooth functions of the state;
# eigenvectors with negative eigenvalues are non-smooth, flipping sign between states
# that follow one another.
#
# ## Setup
#
# Six policy-evaluation problems, each a Markov chain $P^\pi$ (see
# {py:mod}`tdgen.envs.tabular`): a random walk on a ring and on a chain, a uniform random
# walk in an open gridworld and in the four-rooms gridworld {cite}`sutton1999between`, a
# gridworld on a cylinder whose policy drifts to the right (a non-reversible chain), and a
# random sparse MDP. Smoothness is measured two ways:
#
# * the **Dirichlet energy** with respect to $P^\pi$ and its stationary distribution $\mu$,
#   $\mathcal{E}(f) = \tfrac12 \sum_{s,s'} \mu(s) P^\pi(s,s') |f(s)-f(s')|^2 \,/\, \sum_s \mu(s)|f(s)|^2$,
#   the paper's notion (0 for a constant, at most 2;
#   {py:func}`~tdgen.spectral.dirichlet_energy`);
# * a **plain** measure that does not use $P^\pi$'s weights: the fraction of neighbouring
#   states (grid or ring neighbours; transitions for the random MDP) at which the function
#   changes sign ({py:func}`~tdgen.spectral.sign_change_rate`).
#
# The budgets (sizes of the environments) come from the run profile.

# %%
import numpy as np
from IPython.display import Markdown
from tdgen import claimtests, spectral, stats
from tdgen.dashboard import details
from tdgen.envs import tabular
from tdgen.plotting import claim1, publish_figure, set_theme
from tdgen.profiles import get_profile
from tdgen.results import record_claim

profile = get_profile()
budget = profile.smoothness
set_theme()
print(f"profile: {profile.name}")

envs = [
    tabular.ring(budget.ring_states),
    tabular.chain(budget.chain_states),
    tabular.open_grid(budget.grid_side),
    tabular.four_rooms(),
    tabular.drift_grid(budget.drift_grid_side),
    tabular.random_mdp(budget.random_mdp_states, seed=0),
]

# %% [markdown]
# ## Experiment: the spectra
#
# For every environment {py:func}`~tdgen.spectral.spectrum` computes the eigenpairs of
# $P^\pi$ ({py:func}`~tdgen.spectral.eigendecomposition`), sorted from the largest (real
# part of the) eigenvalue to the smallest, and both smoothness measures of every
# eigenvector.

# %%
spectra = {env.name: spectral.spectrum(env) for env in envs}
for name, s in spectra.items():
    print(
        f"{name:22s} states={s.env.n_states:4d} reversible={s.reversible!s:5s} "
        f"complex eigenvalues={s.complex_count:4d} "
        f"max |E(φ) − (1 − Re λ)| = {s.identity_gap:.1e}"
    )

# %% [markdown]
# The last column checks an identity: for *every* eigenvector $\phi$ with eigenvalue
# $\lambda$, $\mathcal{E}(\phi) = 1 - \operatorname{Re}\lambda$, because the stationary
# distribution makes the numerator equal to $\|\phi\|_\mu^2 - \operatorname{Re}\langle \phi,
# P^\pi\phi\rangle_\mu$. (The unit tests assert it.) So under the paper's own notion of
# smoothness the claim holds by construction; the empirical question is whether it holds for
# a plain, geometric notion of smoothness too, which we test below.
#
# **Complex eigenvalues.** When $P^\pi$ is reversible ($\mu(s)P(s,s') = \mu(s')P(s',s)$:
# the ring, chain and both gridworlds under a uniform random walk), it is similar to a
# symmetric matrix and every eigenpair is real. The drifting grid and the random MDP are not
# reversible: probability circulates, and eigenvalues come in complex-conjugate pairs
# $\lambda = r e^{i\theta}$ whose eigenvectors rotate in phase from state to state. We rank
# them by $\operatorname{Re}\lambda$, and count a "sign change" between neighbours when their
# phases differ by more than 90° ($\operatorname{Re}(\bar f_i f_j) < 0$), which for real
# functions is an ordinary sign change.
#
# ## Figures

# %% tags=["remove-output"]
# the open grid and the four rooms
grids = [spectra[envs[2].name], spectra[envs[3].name]]
publish_figure(claim1.eigenvector_grids(grids), "claim1_eigenvectors", profile.name)

# %% [markdown]
# ```{glue:figure} claim1_eigenvectors
# :name: fig-claim1-eigenvectors
#
# Eigenvectors of $P^\pi$ ({py:func}`~tdgen.spectral.eigendecomposition`) for the uniform
# random walk in an open room (top) and in the four-rooms gridworld (bottom), from the
# largest eigenvalue (left) to the most negative (right); red positive, blue negative,
# walls grey. Eigenvectors with $\lambda$ near 1 vary slowly across the room (the second
# and third pick out the rooms); those with $\lambda$ near −1 alternate sign from cell to
# cell like a checkerboard.
# ```

# %% tags=["remove-output"]
figure = claim1.eigenvalue_vs_smoothness(list(spectra.values()))
publish_figure(figure, "claim1_eigenvalue_vs_smoothness", profile.name)

# %% [markdown]
# ```{glue:figure} claim1_eigenvalue_vs_smoothness
# :name: fig-claim1-smoothness
#
# Every eigenvector of $P^\pi$ in every environment: eigenvalue (real part, x-axis) against
# the fraction of neighbouring states where it changes sign (y-axis,
# {py:func}`~tdgen.spectral.sign_change_rate`), coloured by its Dirichlet energy
# ({py:func}`~tdgen.spectral.dirichlet_energy`), all from
# {py:func}`~tdgen.spectral.spectrum`; ρ in each title is
# {py:func}`~tdgen.stats.spearman`. In each environment the rate rises as the eigenvalue
# falls: positive eigenvalues give smooth functions, negative ones rough functions. The
# colour follows $1 - \operatorname{Re}\lambda$ exactly (the identity above).
# ```
#
# The drifting grid and the random MDP have complex spectra. Their eigenvalues in the
# complex plane show the structure: the drifting grid's spectrum fills an ellipse whose right
# end (near $\lambda=1$) holds the slowly varying eigenvectors.

# %% tags=["remove-output"]
complex_chains = [spectra[envs[4].name], spectra[envs[5].name]]
publish_figure(
    claim1.complex_spectra(complex_chains), "claim1_complex_spectra", profile.name
)

# %% [markdown]
# ```{glue:figure} claim1_complex_spectra
# :name: fig-claim1-complex
#
# Eigenvalues of the two non-reversible chains in the complex plane (unit circle grey),
# coloured by the sign-change rate of their eigenvectors (both from
# {py:func}`~tdgen.spectral.spectrum`). Rough eigenvectors sit at negative real part
# whatever their imaginary part.
# ```
#
# ## Verdict
#
# The statistic is the Spearman rank correlation between $\operatorname{Re}\lambda$ and the
# plain sign-change rate over all eigenvectors of an environment, with a 95% jackknife
# interval over eigenvectors on Fisher's $z$ scale
# ({py:func}`~tdgen.claimtests.statistic_test`). The claim
# counts as reproduced in an environment when the whole interval lies at or below
# **−0.7** (a strong monotone decrease of roughness with the eigenvalue), a threshold fixed
# before running.

# %%
THRESHOLD = -0.7


def spearman_of_columns(pairs: np.ndarray) -> float:
    """ρ between the columns of ``[eigenvectors, 2]`` pairs (Re λ, sign-change rate)."""
    return stats.spearman(pairs[:, 0], pairs[:, 1])


tests = [
    claimtests.statistic_test(
        name,
        "Spearman ρ(Re λ, sign-change rate)",
        np.stack([s.real_values, s.sign_changes], axis=1),
        spearman_of_columns,
        THRESHOLD,
        "<=",
        ci_over="jackknife over eigenvectors",
        correlation=True,
    )
    for name, s in spectra.items()
]
claim = record_claim(
    claim=1,
    title="Eigenvalue smoothness",
    statement="Eigenvectors of P^π with large positive eigenvalues are smooth; "
    "negative eigenvalues give non-smooth functions.",
    notebook="notebooks/01_eigenvalue_smoothness",
    profile=profile.name,
    tests=tests,
    figure=f"figures/{profile.name}/claim1_eigenvalue_vs_smoothness.png",
)
Markdown(details(claim))

# %% [markdown]
# The table is generated from this run's results file; the [claims page](../book/claims.md)
# collects every claim's. Where an environment's verdict is *reproduced*, a plain,
# geometric notion of roughness falls with the eigenvalue, not only the Dirichlet energy
# that equals $1-\operatorname{Re}\lambda$ by construction.
#
# ```{other-profiles} 1
# ```
