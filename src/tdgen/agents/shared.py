"""The book's trained agents, defined once for every notebook that uses them.

Claim 3 plays the DQN agents of Breakout-MinAtar, claim 4 studies PPO and DQN on every
interference game, and claim 5 distils the DQN agents of its value game and PPO agents
trained on generated levels.  Each notebook gets them from :func:`trained_agents`, so
agents that two notebooks share are the same cached run by construction: the same
config (:func:`agent_config`), the same seeds (:func:`agent_rngs`) and the same cache
folder, ``cache/<profile>/``.
"""

from __future__ import annotations

import jax

from tdgen.agents import dqn, ppo, probe
from tdgen.agents.runner import Run
from tdgen.envs import level_split
from tdgen.paths import output_dir
from tdgen.profiles import Profile

ALGORITHMS = {"PPO": (ppo.PPOConfig, ppo.make_trainer), "DQN": (dqn.DQNConfig, dqn.make_trainer)}
SEEDS_KEY, LEVEL_SEEDS_KEY = 0, 10  # the seeds' keys are split from PRNGKey(SEEDS_KEY), on level games LEVEL_SEEDS_KEY


def agent_config(profile: Profile, algorithm: str, game: str) -> ppo.PPOConfig | dqn.DQNConfig:
    """The config of the ``algorithm`` (``"PPO"`` or ``"DQN"``) agents on ``game`` at ``profile``.

    * A level-based game of claim 5 (``profile.distill.level_games``, PPO only): PPO
      with the distillation budget's settings on the game's training levels
      (:func:`tdgen.envs.level_split`).
    * A game of claim 4 (``profile.interference.games``): the agents' budget on that
      game (:meth:`~tdgen.profiles.InterferenceBudget.agent_budget`: whole for the first).
    * Any other game (claim 3's Breakout-MinAtar at ``paper``): the agents' budget.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
    if game in profile.distill.level_games:
        if algorithm != "PPO":
            raise ValueError(f"the level-based game {game!r} has PPO agents only, not {algorithm}")
        budget = profile.distill
        return ppo.PPOConfig(
            env_name=level_split(game, budget.train_levels, budget.test_levels)[0],
            total_timesteps=budget.ppo_timesteps,
            num_envs=budget.ppo_num_envs,
            num_steps=budget.ppo_num_steps,
            update_epochs=budget.ppo_update_epochs,
            num_minibatches=budget.ppo_num_minibatches,
            gamma=budget.ppo_gamma,
            learning_rate=budget.ppo_learning_rate,
            num_checkpoints=profile.agents.checkpoints,
        )
    agents = profile.agents
    if game in profile.interference.games:
        agents = profile.interference.agent_budget(agents, game)
    config_class, _ = ALGORITHMS[algorithm]
    return config_class.from_budget(agents, game)


def agent_rngs(profile: Profile, game: str) -> jax.Array:
    """The keys of the agents' seeds on ``game``, ``[seeds, 2]`` (the same for PPO and DQN).

    ``profile.distill.level_seeds`` keys split from ``PRNGKey(10)`` on a level-based game
    of claim 5; ``profile.interference.seeds`` keys from ``PRNGKey(0)`` on a game of
    claim 4; ``profile.agents.seeds`` keys from ``PRNGKey(0)`` on any other game.
    """
    if game in profile.distill.level_games:
        return jax.random.split(jax.random.PRNGKey(LEVEL_SEEDS_KEY), profile.distill.level_seeds)
    seeds = profile.interference.seeds if game in profile.interference.games else profile.agents.seeds
    return jax.random.split(jax.random.PRNGKey(SEEDS_KEY), seeds)


def trained_agents(profile: Profile, algorithm: str, game: str, progress: bool = True) -> Run:
    """The ``algorithm`` agents on ``game`` at ``profile``, trained once and then loaded from ``cache/<profile>/``.

    :func:`~tdgen.agents.probe.train_seeds` with :func:`agent_config` and
    :func:`agent_rngs`: leaves ``[seeds, ...]``, parameters at every checkpoint.
    ``progress`` shows a training bar.
    """
    config = agent_config(profile, algorithm, game)
    _, make_trainer = ALGORITHMS[algorithm]
    cache_dir = output_dir("cache", profile.name)
    return probe.train_seeds(config, make_trainer, agent_rngs(profile, game), cache_dir, progress=progress)
