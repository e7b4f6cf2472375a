"""Hypothesis profiles for the whole suite.

``dev`` (the default) is quick; ``ci`` is thorough and is selected when the environment variable
``CI`` is set to a non-empty value (``.ci/run`` and most CI services set it). ``HYPOTHESIS_PROFILE``
overrides both, e.g. ``HYPOTHESIS_PROFILE=ci pytest tests/test_stateful.py``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci",
    max_examples=120,
    stateful_step_count=40,
    deadline=None,
    database=None,  # every CI run starts fresh; a failure prints its reproduction blob instead
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


def pytest_configure(config: object) -> None:
    """Register the ``mutation`` marker: tests that must catch a deliberately broken log."""
    config.addinivalue_line(  # type: ignore[attr-defined]
        "markers", "mutation: checks that the suite catches a deliberately broken log"
    )
