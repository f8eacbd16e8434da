"""Shared fixtures: the reference folder beside the checkout, example designs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lanedesign import examples

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """No test, and no notebook nbval runs, reaches the developer's clusters: the session has
    no kubeconfig and is in no pod (cluster tests start the stand-in API server instead)."""
    os.environ["KUBECONFIG"] = os.devnull
    os.environ.pop("KUBERNETES_SERVICE_HOST", None)


def _shared_dir() -> Path:
    return Path(os.environ.get("LANEDESIGN_SHARED", ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (reference docs and Istio CRD schemas); not on a user's machine.

    Tests that need it skip with a reason when it is absent, unless CI says it must be there
    (``LANEDESIGN_REQUIRE_SHARED=1``, set by ``.ci/run``), where its absence is a failure.
    """
    path = _shared_dir()
    if (path / "schemas").is_dir():
        return path
    reason = (f"{path} is absent: it holds the Istio CRD schemas and reference notes that sit "
              "beside a lanedesign checkout for developers and CI only")
    if os.environ.get("LANEDESIGN_REQUIRE_SHARED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def mock():
    """The product page's mock scenario (baggage method)."""
    return examples.load("mock-baggage")


@pytest.fixture
def shop():
    return examples.load("shop")


@pytest.fixture
def designer():
    """The designer on the mock scenario (widgets imported only by the tests that use it)."""
    from lanedesign.widgets import Designer

    return Designer("mock-baggage")
