"""Reinforcement learning in the style of PureJaxRL: every agent is one jit-compiled ``lax.scan``.

Modules:

* :mod:`~tdgen.rl.networks` – the MinAtar, Nature and IMPALA torsos, Q and actor-critic heads, and the MLP of the
  tabular experiments;
* :mod:`~tdgen.rl.policies` – policies as pure functions of a network's ``apply``;
* :mod:`~tdgen.rl.rollouts` – playing a policy in a batch of environments;
* :mod:`~tdgen.rl.td` – TD and Monte Carlo targets;
* :mod:`~tdgen.rl.fit` – the one optax fitting loop;
* :mod:`~tdgen.rl.offline` – value networks fitted to recorded play with TD or Monte Carlo targets;
* :mod:`~tdgen.rl.ppo`, :mod:`~tdgen.rl.dqn` – the agents, each ``make_train(config)`` returning a jit-able
  ``train(rng)``;
* :mod:`~tdgen.rl.runner` – runs in chunks, checkpointed and cached under a hash of everything that determines them;
* :mod:`~tdgen.rl.agents` – the book's trained agents, shared by claims 3, 4 and 5.
"""
