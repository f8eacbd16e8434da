"""Writing exports: one file per object, a folder per namespace, each with its header."""

from __future__ import annotations

import yaml

from lanedesign.codec import manifest_header
from lanedesign.files import write_manifests


def vs(namespace: str | None, name: str) -> dict:
    meta = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta}


def test_write_manifests_puts_each_object_in_its_own_file(tmp_path):
    header = manifest_header("shop", "istio", 3, "shop.yaml")
    objects = [vs("a-g", "b"), vs("a", "g-b"), vs(None, "s1")]
    written = write_manifests(objects, tmp_path / "out", header)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [
        "a-g/virtualservice-b.yaml", "a/virtualservice-g-b.yaml", "virtualservice-s1.yaml"]
    for path, obj in zip(written, objects):
        text = path.read_text()
        assert text.startswith(f"# {header}\n") and yaml.safe_load(text) == obj
