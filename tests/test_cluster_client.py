"""The API connection: discovery, paths, typed errors for unreachable and refused, no secrets."""

from __future__ import annotations

import socket

import kmock
import pytest
from cluster_objects import GROUP, shop
from kube_standin import ASM, CORE, ISTIO, running, write_kubeconfig

from lanedesign.cluster import (
    ApiError,
    ObjectRef,
    Resource,
    Unreachable,
    connect,
    diff,
    discover,
)
from lanedesign.cluster.errors import redact

TOKEN = "sha256~Zm9vYmFyYmF6cXV4LXRoaXMtaXMtc2VjcmV0"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_is_one_clear_error(tmp_path):
    path = write_kubeconfig(tmp_path, f"http://127.0.0.1:{closed_port()}")
    with connect(path, timeout=(2, 2)) as cluster, pytest.raises(Unreachable) as error:
        diff(cluster, shop("v1"), GROUP)
    message = str(error.value)
    assert message.startswith("cannot reach the Kubernetes API server at http://127.0.0.1:")
    assert "refused" in message.lower() and "\n" not in message
    assert "object at 0x" not in message


def test_rejected_credentials_are_a_401_that_never_shows_the_token(served, tmp_path):
    path = served.kubeconfig_with(tmp_path / "wrong", TOKEN)
    with connect(path) as cluster, pytest.raises(ApiError) as error:
        diff(cluster, shop("v1"), GROUP)
    assert served.writes() == []
    assert error.value.status == 401
    assert "log in again" in error.value.hint
    for text in (str(error.value), repr(error.value), repr(error.value.to_dict())):
        assert TOKEN not in text


def test_the_token_is_sent_as_a_bearer_token(served):
    with connect(served.kubeconfig) as cluster:  # either server demands the token
        assert diff(cluster, shop("v1"), GROUP).counts()["create"] == 4
        assert served.token not in repr(cluster)
        assert served.token not in repr(cluster.describe())


def test_discovery_names_the_targets_a_cluster_can_take(tmp_path):
    with running(tmp_path, *ISTIO, *CORE) as served, connect(served.kubeconfig) as cluster:
        found = discover(cluster)
    assert set(found.groups["networking.istio.io"]) == {"v1", "v1alpha3"}
    assert found.groups["istio.alibabacloud.com"] == []
    assert found.targets == ("istio",)
    assert "istio.alibabacloud.com: not served" in found.summary()
    with running(tmp_path, *ISTIO, *ASM) as served, connect(served.kubeconfig) as cluster:
        assert discover(cluster).to_dict()["targets"] == ["istio", "asm"]


@pytest.mark.kube
def test_the_real_server_serves_both_targets_and_istios_older_versions(control_plane, tmp_path):
    with connect(control_plane.kubeconfig(tmp_path)) as cluster:
        found = discover(cluster)
    # it has the Gateway API CRDs too, and serves Services: the gateway-api target
    assert found.targets == ("istio", "asm", "gateway-api")
    assert {"v1", "v1beta1", "v1alpha3"} <= set(found.groups["networking.istio.io"])
    assert found.groups[""] == ["v1"]
    assert found.groups["istio.alibabacloud.com"] == ["v1"]


def test_paths_and_names():
    res = Resource("networking.istio.io", "v1", "virtualservices", "VirtualService", True)
    assert res.path("shop", "a b") == \
        "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/a%20b"
    assert Resource("", "v1", "services", "Service", True).path() == "/api/v1/services"
    lanes = Resource("istio.alibabacloud.com", "v1", "asmswimlanes", "ASMSwimLane", False)
    assert lanes.path("ignored", "x") == "/apis/istio.alibabacloud.com/v1/asmswimlanes/x"
    ref = ObjectRef.of({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": "a", "namespace": "shop"}})
    assert str(ref) == "Service shop/a"
    assert str(ObjectRef("ASMSwimLane", None, "s2", "istio.alibabacloud.com/v1")) == \
        "ASMSwimLane s2"


def test_redact_hides_every_secret_and_keeps_the_rest():
    assert redact("Bearer abcd1234 and pw hunter22", ["abcd1234", "hunter22", ""]) == \
        "Bearer <redacted> and pw <redacted>"


def test_a_server_url_with_userinfo_is_shown_without_it(tmp_path):
    path = write_kubeconfig(tmp_path, "http://admin:hunter22@127.0.0.1:6443")
    assert connect(path).describe()["server"] == "http://127.0.0.1:6443"


def test_a_namespaced_object_without_a_namespace_is_refused(served):
    with connect(served.kubeconfig) as cluster:
        orphan = shop("v1")[0]
        del orphan["metadata"]["namespace"]
        with pytest.raises(ValueError, match="names no namespace"):
            cluster.apply(orphan, dry_run=True)
    assert served.calls() and all(c.kind is None for c in served.calls())  # discovery only


def test_a_429_with_retry_after_is_retried_and_without_it_is_an_error(tmp_path):
    """urllib3 already retries a GET's 429 by itself; a write (PATCH) is retried here."""
    with running(tmp_path, *ISTIO) as served, connect(served.kubeconfig) as cluster:
        waits = []
        cluster._sleep = waits.append
        busy = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429,
                "reason": "TooManyRequests", "message": "storage is (re)initializing"}
        hit: set[int] = set()  # kmock asks a filter about past requests too: keep the verdicts

        def twice(req) -> bool:
            if req.id in hit:
                return True
            if req.method.value == "PATCH" and req.name == "cart" and len(hit) < 2:
                hit.add(req.id)
                return True
            return False

        served.standin[twice] << kmock.Response(status=429, payload=busy,
                                                headers={"Retry-After": "2"})
        cart = shop("v1")[0]
        assert cluster.apply(cart)["metadata"]["name"] == "cart"  # the third PATCH got in
        assert waits == [2.0, 2.0]
        assert [c.name for c in served.standin.calls() if c.method == "PATCH"] == ["cart"] * 3
        served.standin[lambda req: req.name == "pay"] << kmock.Response(status=429,
                                                                        payload=busy)
        with pytest.raises(ApiError) as error:  # no Retry-After: not retried
            cluster.apply(shop("v1")[1])
        assert error.value.status == 429 and waits == [2.0, 2.0]
