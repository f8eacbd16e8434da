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


@pytest.fixture(scope="session")
def realapps_shared(shared_dir) -> Path:
    """``shared_dir``, checked to hold ``realapps/`` (Online Boutique and Bookinfo as shipped);
    skipped, or failed under ``LANEDESIGN_REQUIRE_SHARED=1``, as ``shared_dir`` is."""
    folder = shared_dir / "realapps"
    if (folder / "online-boutique").is_dir() and (folder / "bookinfo").is_dir():
        return shared_dir
    reason = f"{folder} lacks online-boutique/ or bookinfo/ (the realapps tier's manifests)"
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


# -- the API servers of the cluster tests -----------------------------------------------------
@pytest.fixture(scope="session")
def control_plane(tmp_path_factory, shared_dir):
    """A real etcd + kube-apiserver for the session (``kube`` marker; needs Go, see gotools).

    Istio's CRDs and Gateway API's come from ``shared_dir``; both processes are stopped at the
    end of the session whatever happened in between.
    """
    from gotools import go_tool
    from kube_real import ControlPlane, default_crd_files

    etcd, apiserver = go_tool("etcd"), go_tool("kube-apiserver")
    with ControlPlane(tmp_path_factory.mktemp("kube"), etcd, apiserver,
                      default_crd_files(shared_dir)) as plane:
        yield plane


@pytest.fixture(params=["standin", pytest.param("real", marks=pytest.mark.kube)])
def served(request, tmp_path):
    """The API server a cluster test runs against, both in turn: the stand-in and the real
    one (reset before each test). Either demands the token in its kubeconfig."""
    from kube_servers import STANDIN_TOKEN, RealServed, StandInServed
    from kube_standin import ASM, CORE, ISTIO, running

    if request.param == "standin":
        with running(tmp_path, *ISTIO, *ASM, *CORE, token=STANDIN_TOKEN) as run:
            yield StandInServed(run)
        return
    plane = request.getfixturevalue("control_plane")
    plane.reset()
    yield RealServed(plane, plane.kubeconfig(tmp_path), plane.audit_mark())
