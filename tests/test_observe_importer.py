"""import-traffic's pure part: observed calls (and services) added to a design, with notes."""

from __future__ import annotations

from lanedesign import examples
from lanedesign.observe import ExtraCall, UnusedCall, synthetic_samples
from lanedesign.observe.importer import design_with_traffic

MOCK = examples.load("mock-baggage")


def test_a_new_service_joins_the_baseline_and_its_versions_lanes():
    samples = synthetic_samples(MOCK, faults=(ExtraCall("mockc", "audit"),))
    result = design_with_traffic(MOCK, samples)
    design = result.design
    assert design.service("mockc").calls == ("audit",)
    assert design.service("audit") is not None
    # audit answered as v1 (the generator's version for unknown services): the baseline s1
    assert [ln.name for ln in design.lanes if "audit" in ln.services] == ["s1"]
    assert any(n.startswith("added service audit (namespace default; versions v1)")
               for n in result.notes)
    assert not [f for f in result.findings if f.severity == "error"]


def test_rare_calls_are_left_out_and_unseen_calls_kept():
    samples = synthetic_samples(MOCK, requests=1, faults=(ExtraCall("mocka", "mockc", 0.5),
                                                          UnusedCall("mockb", "mockc")))
    result = design_with_traffic(MOCK, samples, min_calls=2)
    assert result.design.service("mocka").calls == ("mockb",)
    assert any("seen fewer than 2 times left out: mocka -> mockc" in n for n in result.notes)
    assert result.design.service("mockb").calls == ("mockc",)
    assert any("were not seen and are kept: mockb -> mockc" in n for n in result.notes)


def test_nothing_to_add_changes_nothing():
    result = design_with_traffic(MOCK, synthetic_samples(MOCK))
    assert result.design == MOCK and result.notes == ()
