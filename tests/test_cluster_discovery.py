"""Discovery: which of the registered targets a cluster can take, from what it serves."""

from __future__ import annotations

import pytest
from kube_standin import ASM, CORE, ISTIO, ISTIO_OLD, running

from lanedesign.cluster import connect, discover, target_kinds
from lanedesign.emit import registry


@pytest.mark.parametrize(("kinds", "targets"), [
    ((*ISTIO, *ASM, *CORE), ("istio", "asm")),
    ((*ISTIO, *CORE), ("istio",)),
    ((*ISTIO_OLD, *CORE), ()),  # no networking.istio.io/v1: Istio before 1.22
    (CORE, ()),
])
def test_a_target_is_taken_when_all_its_kinds_are_served(tmp_path, kinds, targets):
    with running(tmp_path, *kinds) as served, connect(served.kubeconfig) as cluster:
        found = discover(cluster)
    assert found.targets == targets
    assert set(found.groups) == set(registry.group_kinds())
    assert f"targets it can take: {', '.join(targets) or 'none'}" in found.summary()
    assert found.to_dict()["targets"] == list(targets)


def test_target_kinds_come_from_the_target():
    assert target_kinds("asm") == registry.target("asm").kinds
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        target_kinds("nope")
