"""Test-wide settings.

The agent and environment tests compile many small XLA programs and never assert
speed, so XLA:CPU's backend optimisation is turned down (results are unchanged;
compilation is about twice as fast).  Set ``XLA_FLAGS`` yourself to override.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
