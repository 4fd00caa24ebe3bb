"""Cost of the in-loop progress reports: training steps per second with and without them.

Run on demand (not part of the tests)::

    python benchmarks/bench_progress.py [--timesteps 40000] [--seeds 2] [--repeats 3]

DQN and PPO on Breakout-MinAtar, vmapped over seeds, are compiled three ways — no
progress, the default (a report every 1 % of the updates) and the worst case (a report
after every update) — and timed in alternation, best of ``--repeats``, compilation
excluded ("time ratio": the time over the no-progress time).  The reports go to a
sink that discards them, so only the in-loop cost (the blocked loop and the host
callback) is measured, not tqdm's drawing.
"""

from __future__ import annotations

import argparse
import time

import jax

from tdgen.rl import dqn, ppo, runner

ENV_NAME = "Breakout-MinAtar"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=40_000, help="environment steps per seed and agent")
    parser.add_argument("--seeds", type=int, default=2, help="seeds run as one vmap")
    parser.add_argument("--repeats", type=int, default=3, help="timings per variant (the best is kept)")
    args = parser.parse_args()
    rngs = jax.random.split(jax.random.PRNGKey(0), args.seeds)
    configs = {
        "DQN": (dqn, dqn.DQNConfig(env_name=ENV_NAME, total_timesteps=args.timesteps, learning_starts=1_000)),
        "PPO": (ppo, ppo.PPOConfig(env_name=ENV_NAME, total_timesteps=args.timesteps, num_envs=16, num_steps=32)),
    }
    print(f"{ENV_NAME}, {args.seeds} seed(s), {args.timesteps} steps per seed, device {jax.devices()[0].device_kind}")
    for name, (algo, config) in configs.items():
        trainer = algo.make_trainer(config)
        runner._SINKS[id(trainer)] = lambda done: None  # measure the loop, not the drawing of a bar
        updates = trainer.num_checkpoints * trainer.updates_per_chunk
        variants = {
            "no progress": runner.make_train(trainer, progress=False),
            f"every {runner.default_progress_every(trainer)} updates (default)": runner.make_train(trainer),
            "every update": runner.make_train(trainer, progress_every=1),
        }
        compiled = {k: jax.jit(jax.vmap(f)).lower(rngs).compile() for k, f in variants.items()}
        best = dict.fromkeys(compiled, float("inf"))
        for _ in range(args.repeats):
            for key, fn in compiled.items():
                start = time.perf_counter()
                jax.block_until_ready(fn(rngs))
                jax.effects_barrier()
                best[key] = min(best[key], time.perf_counter() - start)
        steps = args.seeds * updates * trainer.steps_per_update
        base = best["no progress"]
        for key, seconds in best.items():
            print(f"{name} {key:34s} {steps / seconds:10,.0f} env steps/s   time ratio {seconds / base:.3f}")
        del runner._SINKS[id(trainer)]


if __name__ == "__main__":
    main()
