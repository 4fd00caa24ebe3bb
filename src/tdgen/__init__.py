"""tdgen: the code behind the book reproducing Lyle et al. (2022), "Learning Dynamics and Generalization in RL".

The package is built in layers; a module imports only from its own layer and those
above it in this list (``tests/test_layers.py`` checks it, and that no imports form a cycle):

1. **foundations** – :mod:`~tdgen.validate` (checks with errors naming the field),
   :mod:`~tdgen.paths` (where outputs go, atomic writes), :mod:`~tdgen.profiles` (every budget).
2. **environments** – :mod:`tdgen.envs`: the functional interface and its MinAtar, Maze and
   envpool backends, and the tabular MDPs of claims 1–3 (:mod:`tdgen.envs.tabular`).
3. **reinforcement learning** – :mod:`tdgen.rl`: networks, policies, rollouts, TD targets,
   PPO and DQN, the cached runner, offline value fits and the book's trained agents.
4. **science** – one module per mechanism the claims test: :mod:`~tdgen.spectral` (claim 1),
   :mod:`~tdgen.dynamics` (claim 2), :mod:`~tdgen.critical` and :mod:`~tdgen.critical_deep` (claim 3),
   :mod:`~tdgen.interference` (claim 4), :mod:`~tdgen.distillation` (claim 5).
5. **book** – :mod:`~tdgen.stats` (intervals), :mod:`~tdgen.claimtests` (the claims' tests),
   :mod:`~tdgen.results` (results files), :mod:`~tdgen.provenance`, :mod:`~tdgen.compare`,
   :mod:`~tdgen.dashboard`, :mod:`~tdgen.plotting` and :mod:`~tdgen.booktools` (build tools).
"""

__version__ = "0.1.0"

# Each layer's modules (a package stands for every module in it), bottom layer first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundations", ("tdgen", "tdgen.validate", "tdgen.paths", "tdgen.profiles")),
    ("environments", ("tdgen.envs",)),
    ("reinforcement learning", ("tdgen.rl",)),
    (
        "science",
        (
            "tdgen.spectral",
            "tdgen.dynamics",
            "tdgen.critical",
            "tdgen.critical_deep",
            "tdgen.interference",
            "tdgen.distillation",
        ),
    ),
    (
        "book",
        (
            "tdgen.stats",
            "tdgen.claimtests",
            "tdgen.results",
            "tdgen.provenance",
            "tdgen.compare",
            "tdgen.dashboard",
            "tdgen.plotting",
            "tdgen.booktools",
            "tdgen.runbook",
        ),
    ),
)
