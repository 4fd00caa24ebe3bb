"""tdgen: helpers for reproducing Lyle et al. (2022), "Learning Dynamics and Generalization in RL".

Modules:
  profiles  – the run profiles (smoke / quick / paper) and every budget of the book.
  mdp       – tabular environments, their policy transition matrices P^π and V^π.
  spectral  – eigendecompositions of P^π, Dirichlet energy and other smoothness measures.
  dynamics  – TD and Monte Carlo learning dynamics: closed form, integration, discrete and sampled TD.
  nn        – small flax value networks trained full-batch with TD or Monte Carlo targets.
  critical  – pre-training then fine-tuning, and TD against Monte Carlo fits, on held-out states.
  envs      – a functional, batched environment interface (gymnax MinAtar; envpool names reserved).
  agents    – MinAtar networks, PPO and DQN as one jit-compiled scan, cached and checkpointed runs.
  interference – update matrices, the gradient kernel (empirical NTK) and interference summaries.
  stats     – bootstrap confidence intervals and verdicts.
  results   – the per-claim results files shown on the claims page, validated, verdicts re-derived.
  provenance – commit, lock, versions, device and CPU of a result; compare – regenerated against committed results.
  validate  – the checks every config and budget runs on its fields.
  plotting  – the book's figure theme and figure saving.
  paths, booktools, dashboard – where outputs go; the book's build tools and generated tables.
"""

__version__ = "0.1.0"
