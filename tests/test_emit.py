"""The emitters' entry point: dispatch by target, and the collector pause around it."""

from __future__ import annotations

import gc

import pytest

from lanedesign import examples
from lanedesign.emit import TargetError, collector_paused, emit


@pytest.fixture
def collector_state():
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize(("target", "example"), [("istio", "mock-baggage"),
                                                 ("asm", "mock-traceid")])
def test_emit_leaves_the_collector_as_it_found_it(collector_state, target, example, enabled):
    gc.enable() if enabled else gc.disable()
    objects = emit(examples.load(example), target)
    assert objects and gc.isenabled() is enabled


def test_the_collector_comes_back_when_a_target_refuses(collector_state):
    gc.enable()
    with pytest.raises(TargetError):
        emit(examples.load("mock-traceid"), "istio")
    assert gc.isenabled()


def test_collector_paused_inside_only(collector_state):
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_unknown_target():
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        emit(examples.load("mock-baggage"), "nope")
