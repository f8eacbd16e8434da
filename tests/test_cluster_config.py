"""Connecting: kubeconfig files and contexts, the pod's service account, config errors."""

from __future__ import annotations

import pytest
from kube_standin import ISTIO, running, write_kubeconfig
from kubernetes.config import incluster_config

from lanedesign.cluster import ConfigError, Resource, connect, contexts

TOKEN = "sha256~Zm9vYmFyYmF6cXV4LXRoaXMtaXMtc2VjcmV0"


def test_the_current_context_is_used_unless_another_is_named(tmp_path):
    with running(tmp_path, *ISTIO) as served:
        assert contexts(served.kubeconfig) == (["standin", "elsewhere"], "standin")
        with connect(served.kubeconfig) as cluster:
            assert cluster.describe() == {"context": "standin", "server": served.url}
        with connect(served.kubeconfig, context="elsewhere") as cluster:
            assert cluster.context == "elsewhere"
            assert cluster.resource("networking.istio.io/v1", "VirtualService") == Resource(
                "networking.istio.io", "v1", "virtualservices", "VirtualService", True)


def test_kubeconfig_comes_from_the_environment_when_not_given(tmp_path, monkeypatch):
    path = write_kubeconfig(tmp_path, "http://127.0.0.1:1")
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert connect().server == "http://127.0.0.1:1"


def test_an_unknown_context_lists_the_known_ones(tmp_path):
    path = write_kubeconfig(tmp_path, "http://127.0.0.1:1")
    with pytest.raises(ConfigError) as error:
        connect(path, context="prod")
    assert error.value.message == f"context 'prod' is not in {path}; its contexts: standin, " \
                                  "elsewhere"
    assert "--context" in error.value.hint


def test_no_kubeconfig_outside_a_pod_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigError, match="no kubeconfig found at"):
        connect(tmp_path / "missing")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        connect()
    with pytest.raises(ConfigError, match="in-cluster service account"):
        connect(in_cluster=True)


def test_a_malformed_kubeconfig_is_a_config_error_without_its_secrets(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(f"users: [{{name: u, user: {{token: {TOKEN}}}}}]\ncontexts: 7\n")
    with pytest.raises(ConfigError) as error:
        connect(path)
    assert TOKEN not in str(error.value) and TOKEN not in repr(error.value.to_dict())


def test_inside_a_pod_the_service_account_is_used(tmp_path, monkeypatch):
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    cluster = connect()
    assert cluster.describe() == {"context": "in-cluster", "server": "https://10.0.0.1:443"}
    assert TOKEN not in repr(cluster)
