"""Manifest YAML and file names shared by every target."""

from __future__ import annotations

import yaml

from lanedesign.emit import dump_manifests, object_filename


def vs(namespace: str | None, name: str) -> dict:
    meta = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta}


def test_filenames_never_collide_across_namespaces():
    assert object_filename(vs("a-g", "b")) != object_filename(vs("a", "g-b"))
    assert object_filename(vs("shop", "shop-cart")) == "shop/virtualservice-shop-cart.yaml"
    assert object_filename(vs(None, "s1")) == "virtualservice-s1.yaml"


def test_manifests_are_multi_document_with_a_comment_header():
    text = dump_manifests([vs("a", "x"), vs("b", "y")], "made by a test\nsecond line")
    assert text.startswith("# made by a test\n# second line\n---\n")
    docs = list(yaml.safe_load_all(text))
    assert [d["metadata"]["name"] for d in docs] == ["x", "y"]
    assert list(docs[0]) == ["apiVersion", "kind", "metadata"]  # key order kept
