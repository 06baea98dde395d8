"""Test configuration shared by the whole suite."""

from hypothesis import HealthCheck, settings

# Timing is not behaviour: on a shared two-core machine hypothesis's speed checks
# fail for reasons that say nothing about fama, so the suite turns them off.
settings.register_profile(
    "fama",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("fama")
