"""Environment steps per second of the ``paper`` profile's agents on envpool games, against a random-action floor.

Run on demand on the paper machine (one GPU; needs ``tdgen[envpool]``, ProcGen also Qt5)::

    python benchmarks/bench_paper.py [--timesteps 200000] [--no-procgen]

One seed per agent (one envpool pool serves one seed), the settings of the ``paper``
profile: DQN and PPO on Atari Breakout (claim 4) and PPO on ProcGen coinrun with 10
training levels (claim 5).  DQN starts learning after a quarter of the run instead
of after 80k steps, so the timing is of the learning phase, and its replay holds the
run's length instead of 1M transitions (all a run this short fills).  PPO runs at
least 10 updates.  Every timing excludes
compilation.  The floor is an env-only rollout with random actions in a pool of the
same size, timed in the same process.  The last lines extrapolate the profile's
training time from these rates (an estimate, not a measurement).
"""

from __future__ import annotations

import argparse
import ctypes.util
import dataclasses

import jax
from bench_minatar import random_rollout, timed

from tdgen.envs import level_split
from tdgen.profiles import get_profile
from tdgen.rl import dqn, ppo

CHECKPOINTS = 10  # parameter copies kept per run (the profile keeps 50: a copy per chunk, negligible at this scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=200_000, help="environment steps per agent")
    parser.add_argument("--no-procgen", action="store_true", help="time the Atari agents only")
    args = parser.parse_args()
    paper = get_profile("paper")
    agents, distill = paper.agents, paper.distill
    atari = paper.interference.games[0]
    dqn_config = dqn.DQNConfig.from_budget(agents, atari)
    dqn_config = dataclasses.replace(  # a run this short never fills more replay than its own length
        dqn_config,
        total_timesteps=args.timesteps,
        learning_starts=args.timesteps // 4,
        buffer_size=min(dqn_config.buffer_size, args.timesteps),
        num_checkpoints=CHECKPOINTS,
    )
    ppo_config = dataclasses.replace(ppo.PPOConfig.from_budget(agents, atari), num_checkpoints=CHECKPOINTS)
    ppo_batch = ppo_config.num_envs * ppo_config.num_steps
    cases = [
        ("DQN", dqn, dqn_config, dqn_config.num_envs),
        ("PPO", ppo, dataclasses.replace(ppo_config, total_timesteps=max(args.timesteps, CHECKPOINTS * ppo_batch)), 0),
    ]
    if args.no_procgen:
        print("ProcGen skipped (--no-procgen)")
    elif ctypes.util.find_library("Qt5Gui") is not None:
        train_levels = level_split(distill.level_games[0], distill.train_levels, distill.test_levels)[0]
        teachers = ppo.PPOConfig.from_budget(distill.teacher_budget(agents), train_levels)
        batch = teachers.num_envs * teachers.num_steps
        procgen = dataclasses.replace(
            teachers, total_timesteps=max(args.timesteps, CHECKPOINTS * batch), num_checkpoints=CHECKPOINTS
        )
        cases.append(("PPO", ppo, procgen, 0))
    else:
        print("ProcGen skipped: the Qt5 runtime (libqt5gui5) is not installed")

    key = jax.random.PRNGKey(0)
    print(f"device {jax.devices()[0].device_kind}, {args.timesteps:,} steps per agent, one seed")
    rates = {}
    for name, algo, config, per_update in cases:
        per_update = per_update or config.num_envs * config.num_steps
        steps = config.num_updates * per_update
        floor = steps / timed(random_rollout(config.num_envs, steps // config.num_envs, config.env_name), key)
        rate = steps / timed(algo.make_train(config), key)
        rates[name, config.env_name] = rate
        print(
            f"{name} on {config.env_name:45s} {rate:9,.0f} env steps/s; "
            f"random-action floor {floor:9,.0f} ({config.num_envs} envs), floor/this = {floor / rate:5.1f}"
        )
    seeds, games = paper.interference.seeds, len(paper.interference.games)
    claim4 = sum(
        seeds * games * steps / rates[name, atari]
        for name, steps in (("DQN", agents.dqn_timesteps), ("PPO", agents.ppo_timesteps))
    )
    print(f"claim 4 at paper ({games} games × {seeds} seeds × DQN and PPO): about {claim4 / 3600:.1f} h of training")
    if len(rates) == 3:
        procgen_rate = next(rate for (_, env), rate in rates.items() if env.startswith("procgen"))
        claim5 = len(distill.level_games) * distill.level_seeds * distill.ppo_timesteps / procgen_rate
        print(
            f"claim 5 (b) at paper ({len(distill.level_games)} games × {distill.level_seeds} seeds): "
            f"about {claim5 / 3600:.1f} h of teacher training"
        )


if __name__ == "__main__":
    main()
