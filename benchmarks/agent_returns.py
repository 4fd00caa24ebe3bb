"""Final returns and wall time of PPO and DQN at a profile's budget (default ``quick``), on Breakout-MinAtar.

Run on demand (not part of the tests)::

    python benchmarks/agent_returns.py [--profile quick] [--env Breakout-MinAtar] [--cache-dir DIR]

Runs go through :func:`tdgen.rl.runner.run_cached`, so a finished run is loaded,
not retrained (its wall time is then the load time; pass a fresh ``--cache-dir`` to
time training).  The final return of a seed is the mean return of the episodes that
ended in the last 10% of its updates.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np

from tdgen.paths import output_dir
from tdgen.profiles import get_profile
from tdgen.rl import dqn, ppo, runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--env", default="Breakout-MinAtar")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: <root>/cache/<profile>/")
    args = parser.parse_args()
    budget = get_profile(args.profile).agents
    cache_dir = args.cache_dir or output_dir("cache", args.profile)
    rngs = jax.random.split(jax.random.PRNGKey(0), budget.seeds)
    for algo, config in (
        (ppo, ppo.PPOConfig.from_budget(budget, args.env)),
        (dqn, dqn.DQNConfig.from_budget(budget, args.env)),
    ):
        start = time.perf_counter()
        run, folder = runner.run_cached(config, algo.make_trainer(config), rngs, cache_dir)
        wall = time.perf_counter() - start
        final = runner.final_return(run.metrics)
        print(
            f"{type(config).__name__} {args.env} ({args.profile}): final return per seed "
            f"{np.array2string(final, precision=2)}, mean {final.mean():.2f}; wall {wall:.0f} s; {folder}"
        )


if __name__ == "__main__":
    main()
