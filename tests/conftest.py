import os

from hypothesis import HealthCheck, settings

# a bounded profile for CI; HYPOTHESIS_PROFILE=dev runs more examples locally
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
