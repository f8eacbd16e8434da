"""Connecting: kubeconfig files and contexts, or the pod's service account.

The ``kubernetes`` client loads the config (auth plugins, certificates, proxies); this module
picks the file and context, turns the loader's many exceptions into ``ConfigError`` and
collects the credentials so that no message can show them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from .client import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, Cluster
from .errors import ConfigError, redact

# kubeconfig user fields that hold credentials (redacted from every message we make)
_SECRET_KEYS = frozenset({"token", "password", "client-key-data", "id-token", "refresh-token",
                          "access-token", "client-secret", "client-certificate-data"})


def connect(kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None,
            in_cluster: bool = False, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
            ) -> Cluster:
    """A ``Cluster`` for a kubeconfig context (default: the current one) or the pod's account.

    Without a kubeconfig (``--kubeconfig``, ``$KUBECONFIG``, ``~/.kube/config``) inside a
    pod, the in-cluster service account is used.
    """
    configuration = k8s_client.Configuration()
    # a pooled connection per request in flight (the client sizes its pool by CPU count)
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize,
                                                DEFAULT_CONCURRENCY)
    path = _kubeconfig_path(kubeconfig)
    files = _kubeconfig_files(path)
    if in_cluster or (not files and kubeconfig is None and _inside_a_pod()):
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except k8s_config.ConfigException as exc:
            raise ConfigError(f"cannot use the in-cluster service account: {exc}",
                              "Run inside a pod with a service account, or pass "
                              "--kubeconfig.") from None
        return Cluster(k8s_client.ApiClient(configuration), "in-cluster", timeout=timeout)
    if not files:
        raise ConfigError(f"no kubeconfig found at {path}",
                          "Pass --kubeconfig FILE or set KUBECONFIG (or run inside a pod).")
    secrets = _kubeconfig_secrets(files)
    names, current = contexts(path)
    chosen = context or current
    if chosen not in names:
        which = f"context {chosen!r} is not" if chosen else "no current context is set"
        raise ConfigError(f"{which} in {path}; its contexts: {', '.join(names) or 'none'}",
                          "Pass --context with one of the listed names.")
    try:
        k8s_config.load_kube_config(config_file=path, context=chosen,
                                    client_configuration=configuration, persist_config=False)
    except Exception as exc:  # the loader raises many types for a bad file or auth plugin
        raise ConfigError(f"cannot use context {chosen!r} of {path}: "
                          f"{redact(str(exc) or type(exc).__name__, secrets)}",
                          "Check the kubeconfig (e.g. `kubectl config view`).") from None
    return Cluster(k8s_client.ApiClient(configuration), chosen, secrets, timeout)


def contexts(kubeconfig: str | os.PathLike[str] | None = None) -> tuple[list[str], str | None]:
    """The context names of a kubeconfig and its current context (for a picker)."""
    path = _kubeconfig_path(kubeconfig)
    if not _kubeconfig_files(path):
        raise ConfigError(f"no kubeconfig found at {path}",
                          "Pass --kubeconfig FILE or set KUBECONFIG.")
    try:
        entries, current = k8s_config.list_kube_config_contexts(path)
    except Exception as exc:  # a malformed file raises anything from yaml to KeyError
        secrets = _kubeconfig_secrets(_kubeconfig_files(path))
        raise ConfigError(f"cannot read kubeconfig {path}: "
                          f"{redact(str(exc) or type(exc).__name__, secrets)}",
                          "Check the file (e.g. `kubectl config view`).") from None
    names = [entry["name"] for entry in entries or []]
    return names, (current or {}).get("name")


def _kubeconfig_path(kubeconfig: str | os.PathLike[str] | None) -> str:
    if kubeconfig is not None:
        return os.fspath(kubeconfig)
    return os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


def _kubeconfig_files(path: str) -> list[Path]:
    return [Path(p).expanduser() for p in path.split(os.pathsep)
            if p and Path(p).expanduser().is_file()]


def _inside_a_pod() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def _kubeconfig_secrets(files: Iterable[Path]) -> set[str]:
    """Every credential value in the kubeconfig files' users (to redact them anywhere)."""
    found: set[str] = set()

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _SECRET_KEYS and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for file in files:
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(doc, dict):
            found.update(walk(doc.get("users")))
    return found
