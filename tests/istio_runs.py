"""Running Istio's own tools from the tests: the xDS generator (``xdsdump``) on many cases
in one run, and the YAML streams and files both it and ``istioctl`` read."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import yaml


def yaml_stream(objects: list[dict]) -> str:
    """Objects as one multi-document YAML text, in their order."""
    return "\n---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


def write_yaml(folder: Path, name: str, objects: list[dict]) -> Path:
    """``objects`` into ``folder/<name>.yaml`` (what ``istioctl analyze`` reads)."""
    path = folder / f"{name}.yaml"
    path.write_text(yaml_stream(objects), encoding="utf-8")
    return path


# what istiod's ambient profile sets: Istio reads it as the program starts (ambient index,
# waypoints, HBONE), so it holds for a whole run
AMBIENT_ENV = {"PILOT_ENABLE_AMBIENT": "true"}


def run_xdsdump(binary: Path | str, cases: list[dict],
                ambient: bool = False) -> tuple[dict[str, dict], float]:
    """One run of ``xdsdump`` for every case (``{"name", "config", "kube", "proxies", ...}``):
    each case's answer by name, and the seconds the run took. ``ambient``: the run has
    Istio's ambient mode on (waypoint proxies, and each case's ``addresses``, ztunnel's WDS)."""
    start = time.monotonic()
    env = {**os.environ, **AMBIENT_ENV} if ambient else None
    done = subprocess.run([str(binary)], input=json.dumps({"cases": cases}),
                          capture_output=True, text=True, check=False, timeout=1800, env=env)
    took = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-4000:]
    answers = json.loads(done.stdout)["cases"]
    assert [a["name"] for a in answers] == [c["name"] for c in cases]
    return {a["name"]: a for a in answers}, took
