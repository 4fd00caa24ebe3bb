import math
from dataclasses import dataclass

import numpy as np
import pytest

from tdgen import validate


def test_integers_must_be_integers_in_range():
    assert validate.positive_int("n", 3) == 3
    assert validate.positive_int("n", np.int64(3)) == 3 and type(validate.positive_int("n", np.int64(3))) is int
    assert validate.nonnegative_int("n", 0) == 0
    assert validate.integer("n", -5) == -5
    for wrong in (True, 2.5, 2.0, "3", None, np.float32(1.0)):
        with pytest.raises(TypeError, match=r"n must be an integer, got"):
            validate.positive_int("n", wrong)
    with pytest.raises(ValueError, match=r"n must be at least 1, got 0"):
        validate.positive_int("n", 0)
    with pytest.raises(ValueError, match=r"n must be at least 0, got -1"):
        validate.nonnegative_int("n", -1)
    with pytest.raises(ValueError, match=r"points must be at least 2, got 1"):
        validate.integer("points", 1, low=2)


def test_reals_must_be_finite_and_in_their_interval():
    assert validate.finite_float("x", 1) == 1.0 and type(validate.finite_float("x", 1)) is float
    assert validate.finite_float("x", np.float32(0.5)) == 0.5
    assert validate.probability("p", 0) == 0.0 and validate.probability("p", 1.0) == 1.0
    assert validate.positive_float("rate", 1e-9) == 1e-9
    assert validate.nonnegative_float("c", 0.0) == 0.0
    for wrong in (True, "0.1", None, 1j):
        with pytest.raises(TypeError, match=r"x must be a real number, got"):
            validate.finite_float("x", wrong)
    for value in (math.nan, math.inf, -math.inf, np.float64("nan")):
        with pytest.raises(ValueError, match=r"x must be finite, got"):
            validate.finite_float("x", value)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\], got 1\.5"):
        validate.probability("p", 1.5)
    with pytest.raises(ValueError, match=r"rate must lie in \(0, inf\), got 0"):
        validate.positive_float("rate", 0)
    with pytest.raises(ValueError, match=r"c must lie in \[0, inf\), got -0\.1"):
        validate.nonnegative_float("c", -0.1)
    with pytest.raises(ValueError, match=r"g must lie in \[0, 1\), got 1\.0"):
        validate.finite_float("g", 1.0, 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"f must lie in \(0, 1\], got 0"):
        validate.finite_float("f", 0, 0, 1, low_open=True)
    with pytest.raises(ValueError, match=r"t must lie in \(-inf, 2\], got 3"):
        validate.finite_float("t", 3, high=2)


def test_booleans_strings_and_tuples():
    assert validate.boolean("flag", False) is False
    with pytest.raises(TypeError, match=r"flag must be True or False, got 1 \(int\)"):
        validate.boolean("flag", 1)
    assert validate.text("name", "maze") == "maze"
    with pytest.raises(ValueError, match=r"name must not be empty"):
        validate.text("name", "")
    with pytest.raises(TypeError, match=r"name must be a string, got None"):
        validate.text("name", None)
    assert validate.each("levels", (0.0, 1), validate.probability) == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"levels\[1\] must lie in \[0, 1\], got 2"):
        validate.each("levels", (0.0, 2), validate.probability)
    with pytest.raises(TypeError, match=r"levels must be a tuple, got \[0\.0\] \(list\)"):
        validate.each("levels", [0.0], validate.probability)
    with pytest.raises(ValueError, match=r"levels must not be empty"):
        validate.each("levels", (), validate.probability)
    with pytest.raises(ValueError, match=r"games must not repeat an entry"):
        validate.each("games", ("a", "a"), validate.text, unique=True)


def test_check_fields_names_the_class_and_the_field():
    @dataclass(frozen=True)
    class Budget:
        seeds: int
        rate: float

    validate.check_fields(Budget(2, 0.1), validate.positive_int, "seeds")
    with pytest.raises(ValueError, match=r"Budget\.seeds must be at least 1, got 0"):
        validate.check_fields(Budget(0, 0.1), validate.positive_int, "seeds")
    with pytest.raises(ValueError, match=r"Budget\.rate must be finite, got nan"):
        validate.check_fields(Budget(1, math.nan), validate.positive_float, "rate")
