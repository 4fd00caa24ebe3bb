"""Checks of configuration values, each failing with an error that names the field and the bad value.

Configs and budgets (:class:`~tdgen.rl.ppo.PPOConfig`, the budgets of
:mod:`tdgen.profiles`, …) run these in ``__post_init__``, so a bad value fails where it
is written, not deep inside a jit-compiled training loop — or not at all.  A value of
the wrong type raises :class:`TypeError`, one out of range :class:`ValueError`.
Integers must be integers (``int`` or a NumPy integer; not ``bool``, not ``2.0``);
real numbers may be ints or floats but must be finite.  Each check returns the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, TypeVar

T = TypeVar("T")


def integer(name: str, value: object, low: int | None = None) -> int:
    """``value`` as an ``int``, if it is an integer of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}, got {value!r}")
    return int(value)


def positive_int(name: str, value: object) -> int:
    """``value`` if it is an integer ``>= 1`` (a count or a size)."""
    return integer(name, value, low=1)


def nonnegative_int(name: str, value: object) -> int:
    """``value`` if it is an integer ``>= 0``."""
    return integer(name, value, low=0)


def finite_float(
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a ``float``, if it is a finite real number in the interval from ``low`` to ``high``.

    The ends are included unless ``low_open`` / ``high_open``; ``None`` leaves a side unbounded.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    below = low is not None and (number <= low if low_open else number < low)
    above = high is not None and (number >= high if high_open else number > high)
    if below or above:
        interval = (
            f"{'(' if low_open or low is None else '['}{'-inf' if low is None else low}, "
            f"{'inf' if high is None else high}{')' if high_open or high is None else ']'}"
        )
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return number


def positive_float(name: str, value: object) -> float:
    """``value`` if it is a finite real number ``> 0`` (a rate, a step size, a duration)."""
    return finite_float(name, value, low=0, low_open=True)


def nonnegative_float(name: str, value: object) -> float:
    """``value`` if it is a finite real number ``>= 0`` (a loss coefficient)."""
    return finite_float(name, value, low=0)


def probability(name: str, value: object) -> float:
    """``value`` if it is a real number in ``[0, 1]`` (a probability, a fraction, a discount)."""
    return finite_float(name, value, low=0, high=1)


def boolean(name: str, value: object) -> bool:
    """``value`` if it is a ``bool``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def text(name: str, value: object) -> str:
    """``value`` if it is a non-empty string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r} ({type(value).__name__})")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


def each(name: str, values: object, check: Callable[[str, Any], T], unique: bool = False) -> tuple[T, ...]:
    """``values`` if it is a non-empty tuple whose items pass ``check`` (each named ``name[i]``).

    With ``unique``, no item may appear twice.
    """
    if not isinstance(values, tuple):
        raise TypeError(f"{name} must be a tuple, got {values!r} ({type(values).__name__})")
    if not values:
        raise ValueError(f"{name} must not be empty")
    checked = tuple(check(f"{name}[{i}]", value) for i, value in enumerate(values))
    if unique and len(set(values)) < len(values):
        raise ValueError(f"{name} must not repeat an entry, got {values!r}")
    return checked


def check_fields(owner: object, check: Callable[[str, Any], object], *names: str) -> None:
    """Run ``check`` on each attribute ``names`` of ``owner``, naming it ``<class>.<attribute>`` in errors."""
    for name in names:
        check(f"{type(owner).__name__}.{name}", getattr(owner, name))
