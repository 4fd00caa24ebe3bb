"""Tabular environments and the Markov chains their policies induce.

Every environment here is a policy-evaluation problem: a state space, the
policy's transition matrix ``P`` (shape ``[n, n]``, rows sum to one), a reward
vector ``R`` (shape ``[n]``) and, where the states live on a grid, their
coordinates.  The value function solves the Bellman equation

    V^π = R^π + γ P^π V^π   ⇔   V^π = (I − γ P^π)^{-1} R^π.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

STOCHASTIC_ATOL = 1e-8

# The four-rooms layout of Sutton, Precup & Singh (1999): 11×11 cells inside the walls.
FOUR_ROOMS = (
    "#############",
    "#.....#.....#",
    "#.....#.....#",
    "#...........#",
    "#.....#.....#",
    "#.....#.....#",
    "##.####.....#",
    "#.....###.###",
    "#.....#.....#",
    "#.....#.....#",
    "#...........#",
    "#.....#.....#",
    "#############",
)

# Moves of the grid policies: up, down, left, right as (row, column) offsets.
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


class InvalidMDPError(ValueError):
    """Raised for a transition matrix, reward, discount or grid that is not valid."""


@dataclass(frozen=True)
class TabularEnv:
    """A policy-evaluation problem on a finite state space.

    Attributes:
      name: short human-readable name.
      P: ``[n, n]`` row-stochastic transition matrix of the policy, ``P[s, s']``.
      R: ``[n]`` expected reward on leaving each state, ``R^π(s)``.
      edges: ``[m, 2]`` undirected neighbour pairs ``(i, j)``, ``i < j``, of the
        environment's own geometry (grid or ring adjacency); used by plain
        smoothness measures.
      coords: ``[n, 2]`` (row, column) of each state on a grid, or ``None``.
      shape: ``(rows, columns)`` of the grid, or ``None``.
    """

    name: str
    P: np.ndarray
    R: np.ndarray
    edges: np.ndarray
    coords: np.ndarray | None = None
    shape: tuple[int, int] | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_transition_matrix(self.P)
        check_reward(self.R, self.P)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    def to_grid(self, f: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Lay a ``[n]`` function over states out on the ``[rows, cols]`` grid (walls = ``fill``)."""
        if self.coords is None or self.shape is None:
            raise InvalidMDPError(f"environment {self.name!r} has no grid layout")
        f = np.asarray(f)
        if f.shape != (self.n_states,):
            raise InvalidMDPError(f"function has shape {f.shape}, expected ({self.n_states},)")
        grid = np.full(self.shape, fill, dtype=f.dtype if np.iscomplexobj(f) else float)
        grid[self.coords[:, 0], self.coords[:, 1]] = f
        return grid


def check_transition_matrix(P: np.ndarray) -> None:
    """Raise :class:`InvalidMDPError` unless ``P`` is a square row-stochastic matrix."""
    P = np.asarray(P)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise InvalidMDPError(f"transition matrix must be square [n, n], got shape {P.shape}")
    if P.shape[0] == 0:
        raise InvalidMDPError("transition matrix is empty")
    if not np.all(np.isfinite(P)):
        raise InvalidMDPError("transition matrix has non-finite entries")
    if np.any(P < -STOCHASTIC_ATOL):
        raise InvalidMDPError(f"transition matrix has negative entries (min {P.min():.3g}); it is not stochastic")
    row_sums = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > 1e-6)
    if bad.size:
        raise InvalidMDPError(
            f"transition matrix is not stochastic: row {bad[0]} sums to {row_sums[bad[0]]:.6g} "
            f"({bad.size} rows do not sum to 1)"
        )


def check_gamma(gamma: float) -> None:
    """Raise :class:`InvalidMDPError` unless the discount satisfies 0 ≤ γ < 1."""
    if not (0.0 <= float(gamma) < 1.0):
        raise InvalidMDPError(f"discount gamma must lie in [0, 1), got {gamma}")


def check_reward(R: np.ndarray, P: np.ndarray) -> None:
    """Raise :class:`InvalidMDPError` unless ``R`` is a finite vector with one entry per state of ``P``."""
    R = np.asarray(R)
    n = np.asarray(P).shape[0]
    if R.shape != (n,):
        raise InvalidMDPError(f"reward must have shape ({n},) to match P of shape {np.shape(P)}, got {R.shape}")
    if not np.all(np.isfinite(R)):
        raise InvalidMDPError("reward has non-finite entries")


def value_function(P: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    """Solve ``V = R + γ P V``: returns ``V^π = (I − γP)^{-1} R``, shape ``[n]``."""
    check_transition_matrix(P)
    check_reward(R, P)
    check_gamma(gamma)
    n = P.shape[0]
    return np.linalg.solve(np.eye(n) - gamma * P, R)


def _edges_from_pairs(pairs: set[tuple[int, int]]) -> np.ndarray:
    return np.array(sorted(pairs), dtype=int).reshape(-1, 2)


def ring(n: int, p_right: float = 0.5) -> TabularEnv:
    """Random walk on a ring of ``n`` states: right with ``p_right``, left otherwise.

    With ``p_right = 0.5`` P is symmetric and its eigenvalues are ``cos(2πk/n)``;
    otherwise the walk drifts and P is not reversible (complex eigenvalues).
    """
    if n < 3:
        raise InvalidMDPError(f"a ring needs at least 3 states, got {n}")
    P = np.zeros((n, n))
    idx = np.arange(n)
    P[idx, (idx + 1) % n] += p_right
    P[idx, (idx - 1) % n] += 1.0 - p_right
    edges = _edges_from_pairs({tuple(sorted((i, (i + 1) % n))) for i in range(n)})
    name = "ring" if p_right == 0.5 else f"drifting ring (p={p_right})"
    return TabularEnv(name=name, P=P, R=np.zeros(n), edges=edges)


def chain(n: int) -> TabularEnv:
    """Random walk on a chain of ``n`` states, staying put when it walks into an end."""
    if n < 2:
        raise InvalidMDPError(f"a chain needs at least 2 states, got {n}")
    P = np.zeros((n, n))
    for i in range(n):
        P[i, max(i - 1, 0)] += 0.5
        P[i, min(i + 1, n - 1)] += 0.5
    edges = _edges_from_pairs({(i, i + 1) for i in range(n - 1)})
    return TabularEnv(name="chain", P=P, R=np.zeros(n), edges=edges)


def parse_grid(spec: tuple[str, ...] | list[str]) -> tuple[np.ndarray, tuple[int, int]]:
    """Parse an ASCII grid (``#`` wall, any other character free) into free-cell coordinates.

    Returns ``coords`` of shape ``[n, 2]`` (row-major order) and the grid shape.
    Raises :class:`InvalidMDPError` for a ragged, empty or disconnected grid.
    """
    rows = list(spec)
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise InvalidMDPError("grid spec must be a non-empty list of equally long strings")
    shape = (len(rows), len(rows[0]))
    coords = np.array([(r, c) for r, line in enumerate(rows) for c, ch in enumerate(line) if ch != "#"], dtype=int)
    if coords.size == 0:
        raise InvalidMDPError("grid spec has no free cells")
    free = {tuple(rc) for rc in coords}
    seen = {tuple(coords[0])}
    queue = deque(seen)
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            nxt = (r + dr, c + dc)
            if nxt in free and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    if len(seen) != len(free):
        raise InvalidMDPError(
            f"grid spec is disconnected: {len(free) - len(seen)} of {len(free)} free cells unreachable"
        )
    return coords.reshape(-1, 2), shape


def grid_env(
    spec: tuple[str, ...] | list[str],
    name: str,
    move_probs: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25),
    wrap_columns: bool = False,
    rewards: dict[tuple[int, int], float] | None = None,
) -> TabularEnv:
    """A gridworld under a fixed stochastic policy over the moves (up, down, left, right).

    A move into a wall or off the grid leaves the agent where it is.  With
    ``wrap_columns`` the left and right edges are joined (a cylinder).  ``rewards``
    maps (row, column) to the reward received on leaving that cell.
    """
    probs = np.asarray(move_probs, dtype=float)
    if probs.shape != (4,) or np.any(probs < 0) or not np.isclose(probs.sum(), 1.0):
        raise InvalidMDPError(f"move_probs must be 4 non-negative numbers summing to 1, got {move_probs}")
    coords, shape = parse_grid(spec)
    index = {tuple(rc): i for i, rc in enumerate(coords)}
    n = len(coords)
    P = np.zeros((n, n))
    pairs: set[tuple[int, int]] = set()
    for i, (r, c) in enumerate(coords):
        for p, (dr, dc) in zip(probs, MOVES):
            cc = (c + dc) % shape[1] if wrap_columns else c + dc
            j = index.get((r + dr, cc), i)
            P[i, j] += p
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    R = np.zeros(n)
    for cell, value in (rewards or {}).items():
        if tuple(cell) not in index:
            raise InvalidMDPError(f"reward cell {cell} is not a free cell of the grid")
        R[index[tuple(cell)]] = value
    return TabularEnv(name=name, P=P, R=R, edges=_edges_from_pairs(pairs), coords=coords, shape=shape)


def open_grid_spec(side: int) -> tuple[str, ...]:
    """ASCII spec of an open ``side × side`` room (no inner walls)."""
    if side < 1:
        raise InvalidMDPError(f"grid side must be positive, got {side}")
    return tuple("." * side for _ in range(side))


def open_grid(side: int, rewards: dict[tuple[int, int], float] | None = None) -> TabularEnv:
    """Uniform random walk in an open ``side × side`` room (P symmetric, hence reversible)."""
    return grid_env(open_grid_spec(side), name=f"open grid {side}×{side}", rewards=rewards)


def four_rooms(rewards: dict[tuple[int, int], float] | None = None) -> TabularEnv:
    """Uniform random walk in the four-rooms gridworld (P symmetric, hence reversible)."""
    return grid_env(FOUR_ROOMS, name="four rooms", rewards=rewards)


def drift_grid(side: int, drift: float = 0.4) -> TabularEnv:
    """A cylinder grid whose policy drifts right: P is not reversible, eigenvalues are complex.

    The policy moves right with probability ``0.25 + drift · 0.75`` and spreads the
    rest evenly over up, down and left; the left and right edges are joined, so the
    drift makes a probability current around the cylinder.
    """
    if not 0.0 <= drift < 1.0:
        raise InvalidMDPError(f"drift must lie in [0, 1), got {drift}")
    right = 0.25 + drift * 0.75
    other = (1.0 - right) / 3.0
    return grid_env(
        open_grid_spec(side),
        name=f"drifting grid {side}×{side}",
        move_probs=(other, other, other, right),
        wrap_columns=True,
    )


def random_mdp(n: int, branching: int = 3, seed: int = 0) -> TabularEnv:
    """A random policy chain: each state moves to ``branching`` states with Dirichlet(1) weights.

    One of the targets of state ``i`` is always ``i + 1 (mod n)``, so the chain is
    irreducible and has a unique stationary distribution; the others are drawn at
    random.  It has no geometry of its own, so its ``edges`` are the support of P
    (symmetrised); rewards are standard normal.
    """
    if n < 2 or not 1 <= branching <= n:
        raise InvalidMDPError(f"need n >= 2 and branching in [1, n], got n={n}, branching={branching}")
    rng = np.random.default_rng(seed)
    P = np.zeros((n, n))
    for i in range(n):
        others = rng.choice(np.delete(np.arange(n), (i + 1) % n), size=branching - 1, replace=False)
        targets = np.concatenate([[(i + 1) % n], others])
        P[i, targets] = rng.dirichlet(np.ones(branching))
    pairs = {(min(i, j), max(i, j)) for i, j in zip(*np.nonzero(P)) if i != j}
    return TabularEnv(name="random MDP", P=P, R=rng.standard_normal(n), edges=_edges_from_pairs(pairs))


Encoding = Literal["one-hot", "coordinates"]


def encode_states(env: TabularEnv, encoding: Encoding) -> np.ndarray:
    """Network inputs for every state: ``[n, n]`` one-hot, or ``[n, 2]`` grid coordinates scaled to [−1, 1]."""
    if encoding == "one-hot":
        return np.eye(env.n_states, dtype=np.float32)
    if encoding == "coordinates":
        if env.coords is None or env.shape is None:
            raise InvalidMDPError(f"environment {env.name!r} has no coordinates to encode")
        scale = np.maximum(np.array(env.shape, dtype=np.float32) - 1.0, 1.0)
        return (2.0 * env.coords / scale - 1.0).astype(np.float32)
    raise ValueError(f"unknown encoding {encoding!r}; choose 'one-hot' or 'coordinates'")
