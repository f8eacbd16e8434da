"""Go-built test tools (istioctl, Istio's xDS generator, etcd, kube-apiserver), built once.

Go is test tooling only: users never need it. Each tool is built from a small Go module under
``tests/go/`` that pins its upstream version in ``go.mod``/``go.sum``, into a user-level cache
(``~/.cache/lanedesign/bin``, or ``$LANEDESIGN_CACHE/bin``) keyed by everything that decides
the binary: the module's files, the package, the ldflags and the Go version. A fresh clone on
a machine that built the same key before reuses the binary; nothing is rebuilt.

Tiers that need a tool call :func:`go_tool` from a session fixture. Without Go they skip with a
reason naming how to run them; under CI (``LANEDESIGN_REQUIRE_GO=1``, set by ``.ci/run``) a
missing toolchain or a failed build is a test failure instead.

``python tests/gotools.py [NAME ...]`` builds the tools (all by default) and prints how long
each took; ``.ci/run`` calls it first so that build time is measured apart from test time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GO_DIR = Path(__file__).resolve().parent / "go"
INSTALL_HINT = ("install Go 1.26 or newer (https://go.dev/dl/) with access to the Go module "
                "proxy, then run `make test` (or `pytest -m {marker}`)")


def cache_dir() -> Path:
    root = os.environ.get("LANEDESIGN_CACHE") or Path.home() / ".cache" / "lanedesign"
    return Path(root)


def go_required() -> bool:
    """CI sets ``LANEDESIGN_REQUIRE_GO=1``: a Go tier that cannot run fails there."""
    return os.environ.get("LANEDESIGN_REQUIRE_GO") == "1"


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # the pinned toolchain on the machine, never a downloaded one; static binaries
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false")
    return env


def go_version() -> str | None:
    go = shutil.which("go")
    if go is None:
        return None
    done = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                          env=_go_env(), check=False)
    return done.stdout.strip() or None


class GoBuildError(RuntimeError):
    """A tool could not be built; the message carries the end of Go's output."""


@dataclass(frozen=True)
class GoTool:
    """One binary: built from ``package`` inside the module ``tests/go/<module>``."""

    name: str
    module: str
    package: str
    marker: str
    ldflags: tuple[str, ...] = field(default=())

    @property
    def module_dir(self) -> Path:
        return GO_DIR / self.module

    def key(self, go: str) -> str:
        digest = hashlib.sha256()
        for part in (go, self.package, *self.ldflags):
            digest.update(part.encode() + b"\0")
        for path in sorted(p for p in self.module_dir.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(self.module_dir)).encode() + b"\0")
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def path(self, go: str) -> Path:
        return cache_dir() / "bin" / f"{self.name}-{self.key(go)}"

    def build(self, go: str, log: Callable[[str], None] = lambda _m: None) -> Path:
        """The cached binary, built first if this key was never built on this machine."""
        out = self.path(go)
        if out.exists():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        # one build per key at a time, across pytest workers and parallel checkouts
        with open(out.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if out.exists():
                return out
            tmp = out.with_suffix(".tmp")
            cmd = ["go", "build", "-trimpath", "-o", str(tmp)]
            if self.ldflags:
                cmd += ["-ldflags", " ".join(self.ldflags)]
            cmd.append(self.package)
            log(f"building {self.name} ({self.package}) into {out}")
            start = time.monotonic()
            done = subprocess.run(cmd, cwd=self.module_dir, capture_output=True, text=True,
                                  env=_go_env(), check=False)
            if done.returncode != 0:
                raise GoBuildError(f"`{' '.join(cmd)}` in {self.module_dir} failed:\n"
                                   f"{(done.stdout + done.stderr)[-4000:]}")
            tmp.rename(out)
            log(f"built {self.name} in {time.monotonic() - start:.0f} s")
        return out


TOOLS: dict[str, GoTool] = {}


def register(tool: GoTool) -> GoTool:
    TOOLS[tool.name] = tool
    return tool


def go_tool(name: str) -> Path:
    """The binary for a registered tool, for a session fixture: skip or fail when impossible.

    Imports pytest lazily so that ``python tests/gotools.py`` runs without it.
    """
    import pytest

    tool = TOOLS[name]
    go = go_version()
    if go is None:
        reason = f"Go is not installed: the `{tool.marker}` tier needs it ({INSTALL_HINT})"
        if go_required():
            pytest.fail(reason.format(marker=tool.marker), pytrace=False)
        pytest.skip(reason.format(marker=tool.marker))
    try:
        return tool.build(go)
    except GoBuildError as err:
        # a toolchain that is there but cannot build (no proxy, broken module) is a failure
        # in CI and on a developer's machine alike: the tier was meant to run
        pytest.fail(str(err), pytrace=False)


# The tools. Each tier adds its own here (tests/go/<module> holds the pinned Go module):
# register(GoTool(name=..., module=..., package=..., marker="istio" | "kube", ldflags=(...)))

# istio: Istio's CLI, and our program that dumps the Envoy configuration Istio's own control
# plane generates for given proxies (tests/go/istio/xdsdump); one module pins istio.io/istio
register(GoTool(name="istioctl", module="istio", package="istio.io/istio/istioctl/cmd/istioctl",
                marker="istio"))
register(GoTool(name="xdsdump", module="istio", package="./xdsdump", marker="istio"))

# kube tier: a real control plane (tests/kube_real.py). The version ldflags make the server
# report the release it was built from (``/version``), as an official build does; the date is
# fixed so that the cache key stays stable.
KUBE_VERSION = "v1.36.1"
_KUBE_VERSION_VARS = tuple(
    f"-X {pkg}.{var}={value}"
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    for var, value in (("gitVersion", KUBE_VERSION), ("gitMajor", "1"), ("gitMinor", "36"),
                       ("gitTreeState", "clean"), ("buildDate", "2026-01-01T00:00:00Z")))
register(GoTool(name="kube-apiserver", module="kube-apiserver",
                package="k8s.io/kubernetes/cmd/kube-apiserver", marker="kube",
                ldflags=("-s", "-w", *_KUBE_VERSION_VARS)))
register(GoTool(name="etcd", module="etcd", package="go.etcd.io/etcd/server/v3", marker="kube",
                ldflags=("-s", "-w")))


def main(argv: list[str]) -> int:
    """Build every registered tool (or those named), printing what each took."""
    go = go_version()
    if go is None:
        print("Go is not installed; " + INSTALL_HINT.format(marker="istio or kube"),
              file=sys.stderr)
        return 1
    names = argv or sorted(TOOLS)
    for name in names:
        start = time.monotonic()
        path = TOOLS[name].build(go, log=lambda m: print(m, flush=True))
        print(f"{name}: {path} ({time.monotonic() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
