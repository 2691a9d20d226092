"""One policy pack process per stack for the whole session (each starts in about 2 s).

Every test configures the pack first (Configure replaces the whole config), so tests do not see
each other's configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.harness.host import secret
from tests.policy.analyzer import PolicyAnalyzer

SECRET_TOKEN = "pack-secret-token-5f1c9a"
PROVIDER_INPUTS = {
    "tiktok:accessToken": secret(SECRET_TOKEN),
    "tiktok:endpoint": "local",
    "version": "3.272.0",
}
"""The default pulumi-python provider's inputs: for a dynamic provider the engine hands it the
stack config, secrets marked secret (pkg/resource/deploy/target.go GetPackageConfig)."""

AnalyzerFor = Callable[[str], PolicyAnalyzer]


@pytest.fixture(scope="session")
def analyzer_for() -> Iterator[AnalyzerFor]:
    started: dict[str, PolicyAnalyzer] = {}

    def get(stack: str) -> PolicyAnalyzer:
        if stack not in started:
            started[stack] = PolicyAnalyzer(stack=stack, provider_inputs=PROVIDER_INPUTS)
        return started[stack]

    yield get
    for analyzer in started.values():
        stderr = analyzer.close()
        assert SECRET_TOKEN not in stderr


@pytest.fixture
def dev(analyzer_for: AnalyzerFor) -> PolicyAnalyzer:
    analyzer = analyzer_for("dev")
    analyzer.configure()
    return analyzer


@pytest.fixture
def prod(analyzer_for: AnalyzerFor) -> PolicyAnalyzer:
    analyzer = analyzer_for("prod")
    analyzer.configure()
    return analyzer
