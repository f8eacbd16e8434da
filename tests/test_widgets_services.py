"""The Services tab: add, rename, remove services; calls; context dropping."""

from __future__ import annotations


# -- services ---------------------------------------------------------------------------------
def test_rename_add_and_remove_a_service(designer):
    services = designer.show(designer.services)
    services.select.value = "mockb"
    services.name.value = "reviews"
    services.rename.click()
    design = designer.design
    assert design.service("mocka").calls == ("reviews",)
    assert design.lane("s3").services == ("reviews",)

    services.new_name.value = "ratings"
    designer.services.widget  # noqa: B018 - the panel stays built
    services._add()
    assert designer.design.lane("s1").holds("ratings")  # into the baseline
    assert services.select.value == "ratings"

    services.remove.click()
    assert designer.design.service("ratings") is None
    assert designer.state.last_edit == "remove service ratings"


def test_calls_and_context_dropping(designer):
    services = designer.show(designer.services)
    services.select.value = "mockb"
    services.propagates.value = False
    assert designer.design.service("mockb").propagates is False
    assert "LD403" in [f.code for f in designer.state.findings]
    source = designer.show(designer.diagram).diagram.source
    assert "style=dotted" in source and "context dropped -> s1" in source

    services = designer.show(designer.services)
    services.select.value = "mocka"
    services.calls.value = ["mockb", "mockc"]
    assert designer.design.service("mocka").calls == ("mockb", "mockc")


def test_a_bad_port_is_a_notice_and_changes_nothing(designer):
    services = designer.show(designer.services)
    before = designer.design
    services.port.value = "eighty"
    assert designer.design == before
    assert "not a number" in designer.notice.value
