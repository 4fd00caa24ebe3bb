"""Environment steps per second of our PPO and DQN against the public JAX library rejax, on Breakout-MinAtar.

Run on demand (not part of the tests; needs ``pip install -e '.[bench]'`` for rejax)::

    python benchmarks/bench_public.py [--timesteps 300000] [--seeds 1]

rejax (PyPI ``rejax``) jit-compiles its whole training loop like our agents do.  Both
sides train on gymnax ``Breakout-MinAtar`` in this process, seeds as one ``vmap``, for
the same number of environment steps (ours rounded down to whole updates; rejax gets
exactly that many), with the defaults of :class:`~tdgen.rl.ppo.PPOConfig` and
:class:`~tdgen.rl.dqn.DQNConfig`, and our MinAtar torso with our heads (thin
adapters below); rejax's own default network (MLP 64-64, swish) is timed as a second
reference.  Timings exclude compilation (``bench_minatar.timed``); ours runs without
its progress bar and with one checkpoint chunk, rejax with its evaluation switched off.
The floor is ``bench_minatar.random_rollout`` over PPO's number of environments.

What cannot be matched (rejax's algorithms, unchanged):

* both: gradients are clipped element-wise (``optax.clip(max_grad_norm)``), ours by
  global norm; observations stay ``float32`` (ours ``uint8``); rejax 0.1.3 expects
  gymnax's old 5-tuple ``step``, so gymnax 1.0's is wrapped (``done`` = terminated or truncated);
* PPO: separate actor and critic networks — two torsos, two Adam optimisers and two
  backward passes per minibatch — where ours shares one torso under one summed loss;
* DQN: squared (L2) loss instead of Huber; replay sampled without replacement through
  ``jax.random.choice`` over the whole buffer (ours: flashbax, uniform with
  replacement), storing ``obs`` and ``next_obs``; uniform random actions until
  learning starts, and learning from the first update after ``learning_starts`` steps
  (ours: one update earlier); the target net is copied when the step count crosses a
  multiple of ``target_update_interval`` (ours: every ``interval // num_envs`` updates).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import version

import flax.linen as nn
import gymnax
import jax
import jax.numpy as jnp
from bench_minatar import ENV_NAME, parse_budget, random_rollout, timed

from tdgen.rl import dqn, ppo, runner
from tdgen.rl.networks import MinAtarTorso, QNetwork

try:
    import rejax
    from rejax.networks import DiscretePolicy, EpsilonGreedyPolicy
except ImportError:
    sys.exit("bench_public.py needs rejax: pip install -e '.[bench]'")


class OldStepAPI:
    """A gymnax environment whose ``step`` returns rejax's ``(obs, state, reward, done, info)``."""

    def __init__(self, env: gymnax.environments.environment.Environment) -> None:
        self.env = env

    def __getattr__(self, name: str):  # everything but step from the wrapped env (not "env" itself: deepcopy)
        if name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    def step(self, key: jax.Array, state, action: jax.Array, params):
        obs, state, reward, terminated, truncated, info = self.env.step(key, state, action, params)
        return obs, state, reward, jnp.logical_or(terminated, truncated), info


class Policy(DiscretePolicy):
    """rejax's categorical policy (``act``, ``action_log_prob``, ``log_prob_entropy``) on our torso and policy head."""

    hidden_layer_sizes: tuple[int, ...] = ()
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    def setup(self) -> None:
        self.features = MinAtarTorso()
        self.action_logits = nn.Dense(self.action_dim, kernel_init=nn.initializers.orthogonal(0.01))


class Value(nn.Module):
    """Our torso and value head: ``obs -> value [batch]``."""

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        return nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0))(MinAtarTorso()(obs))[..., 0]


class TakeQNetwork(QNetwork):
    """Our Q-network with rejax's ``take(obs, action)``; ``EpsilonGreedyPolicy`` adds its ``act``."""

    def take(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        return jnp.take_along_axis(self(obs), action[:, None], axis=-1)[:, 0]


def rejax_algos(ppo_config: ppo.PPOConfig, dqn_config: dqn.DQNConfig) -> dict[str, rejax.algos.Algorithm]:
    """rejax PPO and DQN with our hyper-parameters, each with our network and with rejax's default one."""
    env, params = gymnax.make(ENV_NAME)
    common = {"env": OldStepAPI(env), "env_params": params, "skip_initial_evaluation": True}
    p, d = ppo_config, dqn_config
    ppo_steps = p.num_updates * p.num_envs * p.num_steps
    opt_steps = p.num_minibatches * p.update_epochs
    anneal = lambda count: p.learning_rate * (1.0 - (count // opt_steps) / p.num_updates)
    rejax_ppo = rejax.PPO.create(
        **common, total_timesteps=ppo_steps, eval_freq=ppo_steps, num_envs=p.num_envs, num_steps=p.num_steps,
        num_epochs=p.update_epochs, num_minibatches=p.num_minibatches,
        learning_rate=anneal if p.anneal_lr else p.learning_rate, gamma=p.gamma, gae_lambda=p.gae_lambda,
        clip_eps=p.clip_eps, ent_coef=p.ent_coef, vf_coef=p.vf_coef, max_grad_norm=p.max_grad_norm,
    )  # fmt: skip
    dqn_steps = d.num_updates * d.num_envs
    rejax_dqn = rejax.DQN.create(
        **common, total_timesteps=dqn_steps, eval_freq=dqn_steps, num_envs=d.num_envs, buffer_size=d.buffer_size,
        batch_size=d.batch_size, num_epochs=d.gradient_steps, learning_rate=d.learning_rate, gamma=d.gamma,
        eps_start=d.eps_start, eps_end=d.eps_finish, exploration_fraction=d.eps_anneal_steps / dqn_steps,
        fill_buffer=d.learning_starts, target_update_freq=d.target_update_interval, polyak=0.0, ddqn=False,
        max_grad_norm=d.max_grad_norm,
    )  # fmt: skip
    no_eval = lambda algo, ts, rng: ()
    num_actions = env.num_actions
    return {
        "PPO rejax, our network": rejax_ppo.replace(actor=Policy(num_actions), critic=Value(), eval_callback=no_eval),
        "PPO rejax, its MLP 64-64": rejax_ppo.replace(eval_callback=no_eval),
        "DQN rejax, our network": rejax_dqn.replace(
            agent=EpsilonGreedyPolicy(TakeQNetwork)(num_actions), eval_callback=no_eval
        ),
        "DQN rejax, its MLP 64-64": rejax_dqn.replace(eval_callback=no_eval),
    }


def main() -> None:
    args, rngs = parse_budget(__doc__.splitlines()[0])
    ppo_config = ppo.PPOConfig(env_name=ENV_NAME, total_timesteps=args.timesteps, num_checkpoints=1)
    dqn_config = dqn.DQNConfig(env_name=ENV_NAME, total_timesteps=args.timesteps, num_checkpoints=1)
    ppo_steps = ppo_config.num_updates * ppo_config.num_envs * ppo_config.num_steps
    dqn_steps = dqn_config.num_updates * dqn_config.num_envs

    num_envs = ppo_config.num_envs
    floor = args.seeds * ppo_steps / timed(jax.vmap(random_rollout(num_envs, ppo_steps // num_envs)), rngs)
    public_algos = rejax_algos(ppo_config, dqn_config)
    rates = {}
    for name, algo, config, steps in (("PPO", ppo, ppo_config, ppo_steps), ("DQN", dqn, dqn_config, dqn_steps)):
        train = runner.make_train(algo.make_trainer(config), progress=False)
        rates[f"{name} ours"] = args.seeds * steps / timed(jax.vmap(train), rngs)
        for label, public in public_algos.items():
            if label.startswith(name):
                rates[label] = args.seeds * steps / timed(jax.vmap(public.train), rngs)

    print(f"{ENV_NAME} on {jax.devices()[0].device_kind}; jax {jax.__version__}, rejax {version('rejax')}")
    print(f"{args.seeds} seed(s) as one vmap; env steps per seed: PPO {ppo_steps}, DQN {dqn_steps}")
    print(f"{'':28s} {'env steps/s':>12s} {'ours/this':>10s} {'floor/this':>10s}")
    print(f"{'random-action env only':28s} {floor:12,.0f} {'':>10s} {1.0:10.1f}")
    for name, rate in rates.items():
        ours = rates[f"{name[:3]} ours"]
        print(f"{name:28s} {rate:12,.0f} {ours / rate:10.2f} {floor / rate:10.1f}")
    print(
        "rejax runs with its periodic evaluation switched off; ours without progress bar, as one checkpoint chunk.\n"
        "Not matched (see the module docstring): rejax clips gradients element-wise and keeps float32 observations;\n"
        "its PPO has separate actor and critic torsos and optimisers (ours one shared torso); its DQN uses an L2\n"
        "loss (ours Huber) and samples replay without replacement over the whole buffer (ours flashbax, uniform)."
    )


if __name__ == "__main__":
    main()
