"""The project's settings with a URLconf that adds ``/bench/drf-ping`` (benchmark only)."""

from hotel_agent.settings import *  # noqa: F403

ROOT_URLCONF = "bench.drf_ping_urls"
