"""Deep RL agents on MinAtar in the style of PureJaxRL: networks, PPO, DQN and cached, checkpointed runs.

Modules:
  networks     – the MinAtar network (Young & Tian, 2019) with a Q head, and its actor-critic variant.
  ppo          – PPO (Schulman et al., 2017) as one jit-compiled ``lax.scan``.
  dqn          – DQN (Mnih et al., 2015) with an on-device uint8 replay buffer, as one ``lax.scan``.
  runner       – runs in chunks, parameters at evenly spaced points, cached under a hash of everything that
                 determines them (config, seeds, trainer source, library versions), every file checksummed.
  probe        – training many seeds (envpool: one cached run each) and the update matrices of trained agents.
  shared       – the book's trained agents, one definition for the notebooks that share them.
"""
