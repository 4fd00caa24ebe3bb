"""Environment steps per second of PPO and DQN training on Breakout-MinAtar, against a random-action floor.

Run on demand (not part of the tests)::

    python benchmarks/bench_minatar.py [--timesteps 300000] [--seeds 1]

Every timing excludes compilation (each function is compiled first) and blocks on
the result.  The floor is an env-only rollout with uniformly random actions over
as many parallel environments as PPO uses, timed in the same process.
"""

from __future__ import annotations

import argparse
import time

import jax

from tdgen.envs import make_env
from tdgen.rl import dqn, ppo

ENV_NAME = "Breakout-MinAtar"


def timed(fn, *args) -> float:
    """Seconds of one call of the compiled ``fn(*args)`` (compiled beforehand, not timed)."""
    compiled = jax.jit(fn).lower(*args).compile()
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    return time.perf_counter() - start


def random_rollout(num_envs: int, num_steps: int, env_name: str = ENV_NAME):
    """``rollout(key)``: ``num_steps`` random-action steps of ``num_envs`` environments; returns the summed reward."""
    env = make_env(env_name, num_envs)

    def rollout(key):
        _, state = env.reset(key)

        def body(state, key):
            act_key, step_key = jax.random.split(key)
            action = jax.random.randint(act_key, (num_envs,), 0, env.num_actions)
            _, state, reward, _, _ = env.step(step_key, state, action)
            return state, reward.sum()

        return jax.lax.scan(body, state, jax.random.split(key, num_steps))[1].sum()

    return rollout


def parse_budget(description: str) -> tuple[argparse.Namespace, jax.Array]:
    """The command line of a MinAtar speed benchmark (``--timesteps``, ``--seeds``) and one key per seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--timesteps", type=int, default=300_000, help="environment steps per seed and agent")
    parser.add_argument("--seeds", type=int, default=1, help="seeds run as one vmap")
    args = parser.parse_args()
    return args, jax.random.split(jax.random.PRNGKey(0), args.seeds)


def main() -> None:
    args, rngs = parse_budget(__doc__.splitlines()[0])
    ppo_config = ppo.PPOConfig(env_name=ENV_NAME, total_timesteps=args.timesteps)
    dqn_config = dqn.DQNConfig(env_name=ENV_NAME, total_timesteps=args.timesteps)

    floor_steps = args.seeds * ppo_config.num_envs * (args.timesteps // ppo_config.num_envs)
    floor = floor_steps / timed(
        jax.vmap(random_rollout(ppo_config.num_envs, args.timesteps // ppo_config.num_envs)), rngs
    )
    rates = {"random-action env only (floor)": floor}
    for name, algo, config, per_update in (
        ("PPO training", ppo, ppo_config, ppo_config.num_envs * ppo_config.num_steps),
        ("DQN training", dqn, dqn_config, dqn_config.num_envs),
    ):
        steps = args.seeds * config.num_updates * per_update
        rates[name] = steps / timed(jax.vmap(algo.make_train(config)), rngs)

    print(f"{ENV_NAME}, {args.seeds} seed(s), {args.timesteps} steps per seed, device {jax.devices()[0].device_kind}")
    for name, rate in rates.items():
        print(f"{name:32s} {rate:12,.0f} env steps/s   floor/this = {floor / rate:8.1f}")


if __name__ == "__main__":
    main()
