"""The Services tab: add, rename, remove services; calls; context dropping."""

from __future__ import annotations

from dataclasses import replace


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


def test_ports_version_calls_and_forwarded_headers(designer):
    from lanedesign.model import ServicePort
    designer.state.edit("ports", lambda d: d.with_service(replace(
        d.service("mockb"), ports=(ServicePort(80, "http", 8080), ServicePort(6379, "tcp-x")))))
    services = designer.show(designer.services)
    services.select.value = "mockb"
    assert "8080" in services.ports.value and "TCP: no header routing" in services.ports.value
    # mockb's version in lane s3 calls nothing; the baseline's still calls mockc
    assert list(services.version.options) == ["s1", "s3"]
    services.version.value = "s3"
    assert services.version_calls.value == ["mockc"]
    services.version_calls.value = []
    design = designer.design
    assert design.service("mockb").calls_in("s3") == ()
    assert design.service("mockb").calls == ("mockc",)
    assert not services.version_same.disabled
    services.version_same.click()
    assert designer.design.service("mockb").lane_calls == ()
    # a fixed list of forwarded headers without `baggage` loses the lane: LD406
    services.forwards.value = "x-request-id, End-User"
    assert designer.design.service("mockb").forwards == ("x-request-id", "end-user")
    assert "LD406" in [f.code for f in designer.state.findings]
    services.forwards.value = ""
    assert designer.design.service("mockb").forwards is None


# -- a service's team routing ---------------------------------------------------------------
def test_the_team_routing_is_shown_and_dropped_as_an_undoable_edit():
    from team_routing import bookinfo_adopted

    from lanedesign.widgets import Designer

    designer = Designer(bookinfo_adopted())
    services = designer.show(designer.services)
    services.select.value = "reviews"
    shown = services.routing.value
    assert "route: end-user exact jason -&gt; v2" in shown
    assert "default -&gt; v3" in shown
    assert "subsets the lanes also define: v1, v2, v3" in shown
    services.select.value = "ratings"
    shown = services.routing.value
    assert "route: end-user exact jason -&gt; v1 (fault delay 7s)" in shown
    assert "extra subsets: v2 (version=v2), v2-mysql (version=v2-mysql), v2-mysql-vm " \
        "(version=v2-mysql-vm)" in shown  # ratings is in lane v1 only
    assert not services.drop_routing.disabled

    services.drop_routing.click()
    assert designer.design.service("ratings").routing is None
    assert designer.design.service("reviews").routing is not None  # only the one selected
    assert designer.state.last_edit == "drop the team routing of ratings"
    assert "none: the lanes alone route it" in services.routing.value
    assert services.drop_routing.disabled
    designer.undo()
    assert designer.design == bookinfo_adopted()
    assert "fault delay 7s" in designer.show(designer.services).routing.value


def test_a_service_without_team_routing_says_so(designer):
    services = designer.show(designer.services)
    services.select.value = "mockb"
    assert "none: the lanes alone route it" in services.routing.value
    assert services.drop_routing.disabled
