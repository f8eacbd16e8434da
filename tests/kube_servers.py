"""One face for the two API servers the cluster tests run against (the ``served`` fixture).

- ``standin``: kmock's emulator taught server-side apply (``kube_standin.py``); runs anywhere.
- ``real``: etcd + kube-apiserver built from source (``kube_real.py``, marker ``kube``).

Tests say what they need through this face: the kubeconfig lanedesign connects with, the
requests it sent (the stand-in's log, the real server's audit log), objects another client
made, what is stored. Where the servers disagreed the real one was right; the stand-in was
fixed after it (the list is in docs/cluster.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kube_real import KEEP, KINDS, ControlPlane, object_path
from kube_standin import Call, Running, write_kubeconfig

STANDIN_TOKEN = "sha256~c3RhbmQtaW4tdG9rZW4tdGhhdC1tdXN0LXN0YXktc2VjcmV0"


def identity(obj: dict) -> tuple[str, str | None, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace"), meta["name"]


class Served:
    """What both servers offer the tests."""

    name: str
    context: str
    url: str
    kubeconfig: Path
    token: str

    def calls(self) -> list[Call]:
        """Requests lanedesign sent since the test began, oldest first."""
        raise NotImplementedError

    def writes(self) -> list[Call]:
        """The real (not dry-run) writes that succeeded, oldest first."""
        return [c for c in self.calls() if c.writes]

    def forget(self) -> None:
        """Start :meth:`calls` afresh (between examples of a property test)."""
        raise NotImplementedError

    def add(self, obj: dict, manager: str = "kubectl-client-side-apply") -> None:
        """Create ``obj`` as another client (field manager ``manager``) would."""
        raise NotImplementedError

    def ensure_namespace(self, name: str) -> None:
        """Make namespace ``name`` exist (a real server refuses objects in a missing one)."""
        raise NotImplementedError

    def live(self, obj: dict) -> dict | None:
        """The stored object with ``obj``'s kind, namespace and name, or ``None``."""
        raise NotImplementedError

    def live_names(self) -> set[tuple[str, str]]:
        """(kind, name) of every stored object of the kinds lanedesign writes or reads."""
        raise NotImplementedError

    def history(self, obj: dict) -> list[dict]:
        """The stored versions of ``obj`` after each write lanedesign made to it."""
        return [c.body for c in self.writes()
                if c.method != "DELETE" and (c.kind, c.namespace, c.name) == identity(obj)]

    def kubeconfig_with(self, folder: Path, token: str) -> Path:
        """A kubeconfig for this server whose user presents ``token``."""
        raise NotImplementedError


@dataclass
class StandInServed(Served):
    running: Running
    token: str = STANDIN_TOKEN
    name: str = "standin"
    context: str = "standin"

    @property
    def standin(self):
        return self.running.standin

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.running.url

    @property
    def kubeconfig(self) -> Path:  # type: ignore[override]
        return self.running.kubeconfig

    def calls(self) -> list[Call]:
        return self.standin.calls()

    def forget(self) -> None:
        self.standin.forget_requests()

    def add(self, obj: dict, manager: str = "kubectl-client-side-apply") -> None:
        self.standin.add(obj, manager)

    def ensure_namespace(self, name: str) -> None:
        self.standin.namespaces.add(name)

    def live(self, obj: dict) -> dict | None:
        for (_res, namespace, name), stored in self.standin.objects.items():
            if not stored.deleted and identity(stored.raw) == identity(obj) and \
                    (namespace, name) == identity(obj)[1:]:
                return stored.raw
        return None

    def live_names(self) -> set[tuple[str, str]]:
        return {(obj.raw["kind"], name) for (_, _, name), obj in self.standin.objects.items()
                if not obj.deleted}

    def history(self, obj: dict) -> list[dict]:
        for stored in self.standin.objects.values():
            if identity(stored.raw) == identity(obj):
                return list(stored.history)
        return []

    def kubeconfig_with(self, folder: Path, token: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return write_kubeconfig(folder, self.url, token)


@dataclass
class RealServed(Served):
    plane: ControlPlane
    kubeconfig: Path
    mark: int = field(default=0)
    name: str = "real"
    context: str = "real"

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.plane.url

    @property
    def token(self) -> str:  # type: ignore[override]
        return self.plane.tokens["tester"]

    def calls(self) -> list[Call]:
        return self.plane.calls(self.mark)

    def forget(self) -> None:
        self.mark = self.plane.audit_mark()

    def add(self, obj: dict, manager: str = "kubectl-client-side-apply") -> None:
        self.plane.create(obj, manager)

    def ensure_namespace(self, name: str) -> None:
        self.plane.ensure_namespace(name)

    def live(self, obj: dict) -> dict | None:
        return self.plane.get(obj)

    def live_names(self) -> set[tuple[str, str]]:
        names = set()
        for group, version, plural, kind in KINDS:
            base = f"/apis/{group}/{version}" if group else f"/api/{version}"
            query = [("labelSelector", KEEP)] if kind == "Service" else []
            for item in self.plane.request("GET", f"{base}/{plural}", query=query)["items"]:
                names.add((kind, item["metadata"]["name"]))
        return names

    def kubeconfig_with(self, folder: Path, token: str) -> Path:
        return self.plane.kubeconfig(folder, token=token)


__all__ = ["RealServed", "Served", "StandInServed", "object_path"]
