"""What every target shares: ownership labels, object names, hosts, request matches."""

from __future__ import annotations

from lanedesign.emit.common import (
    GROUP_LABEL,
    MANAGED_BY,
    TargetError,
    managed_labels,
    object_name,
    request_match_dict,
    service_host,
)
from lanedesign.findings import make
from lanedesign.model import RequestMatch, Service, StringMatch
from lanedesign.names import is_dns1123_subdomain


def test_every_object_says_who_owns_it_and_which_group(mock):
    assert managed_labels(mock) == {MANAGED_BY: "lanedesign", GROUP_LABEL: mock.name}


def test_object_names_join_parts_and_long_ones_keep_a_stable_hash():
    assert object_name("shop", "", "cart") == "shop-cart"
    long_a = object_name("x" * 60, "cart")
    long_b = object_name("x" * 60, "pay")
    assert len(long_a) == 63 and long_a != long_b
    assert long_a == object_name("x" * 60, "cart")  # deterministic
    assert is_dns1123_subdomain(long_a)


def test_service_hosts_use_the_services_own_namespace(mock):
    design = mock.with_service(Service("mockb", namespace="other"))
    assert service_host(design, "mocka") == f"mocka.{mock.namespace}.svc.cluster.local"
    assert service_host(design, "mockb") == "mockb.other.svc.cluster.local"


def test_request_matches_leave_empty_parts_out():
    assert request_match_dict(RequestMatch()) == {}
    assert request_match_dict(RequestMatch(uri=StringMatch("exact", "/mock"))) == \
        {"uri": {"exact": "/mock"}}
    headers = RequestMatch(headers=(("x-user", StringMatch("regex", "a.*")),))
    assert request_match_dict(headers) == {"headers": {"x-user": {"regex": "a.*"}}}


def test_a_target_error_carries_its_finding():
    finding = make("LD601", "spec.passThrough.method", "no trace ids here")
    error = TargetError(finding)
    assert error.finding is finding and str(error) == "LD601 no trace ids here"
