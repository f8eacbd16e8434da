"""The stand-in API server behaves like the apiserver where lanedesign relies on it.

Driven through the official client's typed API (not lanedesign's code), over real HTTP.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kube_standin import (
    CORE,
    ISTIO,
    KubeStandIn,
    conflicts,
    field_paths,
    from_fields_v1,
    selector_matches,
    serve,
    server_side_apply,
    to_fields_v1,
)
from kubernetes import client
from kubernetes.client import ApiException

GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"


def vs(name: str = "reviews", labels: dict | None = None, **spec: object) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {"a": "1"}},
            "spec": spec or {"hosts": ["reviews"]}}


@pytest.fixture
def kube():
    standin = KubeStandIn().serve_kinds(*ISTIO, *CORE)
    with serve(standin) as url:
        configuration = client.Configuration()
        configuration.host = url
        with client.ApiClient(configuration) as api:
            yield standin, client.CustomObjectsApi(api)


def apply(api: client.CustomObjectsApi, obj: dict, manager: str = "lanedesign",
          **options: object) -> tuple[int, dict]:
    """An SSA PATCH; the raw response, since the typed method only decodes 200s."""
    response = api.patch_namespaced_custom_object(
        GROUP, VERSION, obj["metadata"]["namespace"], PLURAL, obj["metadata"]["name"], obj,
        field_manager=manager,
        _content_type="application/apply-patch+yaml", _preload_content=False, **options)
    return response.status, json.loads(response.data)


def get(api: client.CustomObjectsApi, name: str = "reviews") -> dict:
    return api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name)


def test_apply_creates_a_missing_object_with_201_and_managed_fields(kube):
    _, api = kube
    status, body = apply(api, vs())
    assert status == 201
    stored = get(api)
    assert stored["spec"] == {"hosts": ["reviews"]}
    assert stored["metadata"]["uid"] == body["metadata"]["uid"]
    [entry] = stored["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("lanedesign", "Apply")
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:a": {}}},
                                 "f:spec": {"f:hosts": {}}}


def test_dry_run_answers_as_if_written_and_stores_nothing(kube):
    standin, api = kube
    status, body = apply(api, vs(), dry_run="All")
    assert status == 201 and body["spec"] == {"hosts": ["reviews"]}
    with pytest.raises(ApiException) as missing:
        get(api)
    assert missing.value.status == 404
    apply(api, vs())
    status, body = apply(api, vs(hosts=["changed"]), dry_run="All")
    assert body["spec"] == {"hosts": ["changed"]}
    assert get(api)["spec"] == {"hosts": ["reviews"]}
    assert [c.dry_run for c in standin.calls() if c.method == "PATCH"] == [True, False, True]


def test_a_no_op_apply_keeps_the_resource_version_and_a_change_bumps_it(kube):
    _, api = kube
    apply(api, vs())
    first = get(api)["metadata"]
    apply(api, vs())
    assert get(api)["metadata"]["resourceVersion"] == first["resourceVersion"]
    apply(api, vs(hosts=["reviews", "more"]))
    after = get(api)["metadata"]
    assert int(after["resourceVersion"]) > int(first["resourceVersion"])
    assert after["generation"] == first["generation"] + 1


def test_changing_a_field_another_manager_owns_is_a_409_unless_forced(kube):
    _, api = kube
    apply(api, vs(), manager="someone-else")
    apply(api, vs(), manager="lanedesign")  # same values: shared ownership, no conflict
    with pytest.raises(ApiException) as conflict:
        apply(api, vs(hosts=["other"]), manager="lanedesign")
    assert conflict.value.status == 409
    status = json.loads(conflict.value.body)
    assert status["reason"] == "Conflict"
    assert 'conflict with "someone-else"' in status["message"]
    assert status["details"]["causes"][0]["field"] == ".spec.hosts"
    assert get(api)["spec"] == {"hosts": ["reviews"]}
    apply(api, vs(hosts=["other"]), manager="lanedesign", force=True)
    stored = get(api)
    assert stored["spec"] == {"hosts": ["other"]}
    owners = {e["manager"]: e["fieldsV1"] for e in stored["metadata"]["managedFields"]}
    assert "f:spec" in owners["lanedesign"] and "f:spec" not in owners["someone-else"]


def test_an_update_by_another_manager_takes_the_field_over(kube):
    _, api = kube
    apply(api, vs())
    api.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "reviews",
                                       {"spec": {"hosts": ["edited"]}},
                                       field_manager="kubectl-edit")
    with pytest.raises(ApiException) as conflict:
        apply(api, vs())
    assert conflict.value.status == 409
    assert "kubectl-edit" in json.loads(conflict.value.body)["message"]


def test_fields_a_manager_stops_applying_are_removed_unless_someone_else_owns_them(kube):
    _, api = kube
    apply(api, vs(labels={"a": "1", "b": "2"}, hosts=["reviews"], gateways=["mesh"]))
    apply(api, vs(name="reviews", labels={"c": "3"}), manager="other")
    apply(api, vs(labels={"a": "1"}, hosts=["reviews"]))
    stored = get(api)
    assert stored["metadata"]["labels"] == {"a": "1", "c": "3"}
    assert "gateways" not in stored["spec"]


def test_label_selectors_filter_lists_across_namespaces(kube):
    standin, api = kube
    standin.namespaces.add("shop")
    other_namespace = vs("one", {"app.kubernetes.io/managed-by": "lanedesign", "g": "x"})
    other_namespace["metadata"]["namespace"] = "shop"
    apply(api, other_namespace)
    apply(api, vs("two", {"app.kubernetes.io/managed-by": "lanedesign", "g": "y"}))
    apply(api, vs("three", {"other": "z"}))
    def names(selector: str) -> list[str]:
        listed = api.list_cluster_custom_object(GROUP, VERSION, PLURAL,
                                                label_selector=selector)
        assert listed["kind"] == "VirtualServiceList"
        return [i["metadata"]["name"] for i in listed["items"]]

    assert names("app.kubernetes.io/managed-by=lanedesign,g=x") == ["one"]
    # sorted by namespace, then name, as etcd keys are
    assert names("app.kubernetes.io/managed-by=lanedesign") == ["two", "one"]
    assert names("g in (x, y),g!=y") == ["one"]
    assert names("!g") == ["three"]


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("a=1", {"a": "1"}, True),
    ("a==1", {"a": "2"}, False),
    ("a!=1", {}, True),
    ("a", {"a": ""}, True),
    ("!a", {"a": "1"}, False),
    ("a in (1, 2)", {"a": "2"}, True),
    ("a notin (1,2)", {}, True),
    ("a notin (1,2)", {"a": "1"}, False),
    ("x.io/k=v,b", {"x.io/k": "v"}, False),
    ("", {"a": "1"}, True),
])
def test_selector_syntax(selector, labels, expected):
    assert selector_matches(selector, labels) is expected


def test_delete_honours_dry_run_and_preconditions(kube):
    _, api = kube
    apply(api, vs())
    uid = get(api)["metadata"]["uid"]
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "reviews",
                                        dry_run="All")
    assert get(api)["metadata"]["uid"] == uid
    with pytest.raises(ApiException) as stale:
        api.delete_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "reviews",
            body={"preconditions": {"resourceVersion": "999"}})
    assert stale.value.status == 409
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "reviews",
                                        body={"preconditions": {"uid": uid}})
    with pytest.raises(ApiException) as gone:
        get(api)
    assert gone.value.status == 404


def test_a_delete_body_decides_dry_run_as_on_kube_apiserver(kube):
    """The real server ignores ``?dryRun=All`` when the DELETE has a DeleteOptions body (the
    options come from the body): so does the stand-in, and lanedesign puts it in both."""
    _, api = kube
    apply(api, vs())
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "reviews",
                                        body={"dryRun": ["All"]})
    assert get(api)["metadata"]["name"] == "reviews"
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "reviews",
                                        dry_run="All", body={"propagationPolicy": "Background"})
    with pytest.raises(ApiException) as gone:
        get(api)
    assert gone.value.status == 404


def test_a_wrong_token_gets_401_and_the_right_one_passes():
    standin = KubeStandIn(token="s3cret").serve_kinds(*ISTIO)
    with serve(standin) as url:
        configuration = client.Configuration()
        configuration.host = url
        with client.ApiClient(configuration) as api:
            with pytest.raises(ApiException) as denied:
                client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, PLURAL)
            assert denied.value.status == 401
        configuration.api_key = {"BearerToken": "Bearer s3cret"}
        with client.ApiClient(configuration) as api:
            listed = client.CustomObjectsApi(api).list_cluster_custom_object(
                GROUP, VERSION, PLURAL)
            assert listed["items"] == []


def test_injected_failures_hit_only_real_writes_and_only_so_often(kube):
    standin, api = kube
    standin.fail("PATCH", "reviews", status=503, times=1)
    assert apply(api, vs(), dry_run="All")[0] == 201
    with pytest.raises(ApiException) as failed:
        apply(api, vs())
    assert failed.value.status == 503
    assert apply(api, vs())[0] == 201
    assert [c.writes for c in standin.calls()] == [False, True, True]


def test_an_unknown_resource_is_404_and_discovery_lists_the_declared_ones(kube):
    _, api = kube
    with pytest.raises(ApiException) as unknown:
        api.list_cluster_custom_object("istio.alibabacloud.com", "v1", "asmswimlanes")
    assert unknown.value.status == 404
    listed = api.get_api_resources(GROUP, VERSION)
    assert {r.kind for r in listed.resources} == {"DestinationRule", "VirtualService"}


# -- the managed-fields model without a server -------------------------------------------------
leaves = st.none() | st.booleans() | st.integers(0, 9) | st.sampled_from(["", "x"])
json_values = leaves | st.lists(leaves, max_size=2) | st.dictionaries(
    st.sampled_from("abc"), leaves | st.dictionaries(st.sampled_from("de"), leaves, min_size=1),
    min_size=1, max_size=2)
specs = st.dictionaries(st.sampled_from(["hosts", "http", "x"]), json_values, max_size=3)


@given(specs)
def test_fields_v1_round_trips_the_leaf_paths(spec):
    paths = field_paths(vs(**spec) if spec else vs())
    assert from_fields_v1(to_fields_v1(paths)) == paths


@given(specs, specs)
def test_reapplying_the_same_object_is_a_fixed_point(first, second):
    now = "2026-01-01T00:00:00Z"
    live = server_side_apply(None, vs(**first), "other", False, now)
    mine = vs(**second)
    if conflicts(live, mine, "lanedesign", field_paths(mine)):
        return  # the server would refuse; nothing to compare
    once = server_side_apply(live, mine, "lanedesign", False, now)
    twice = server_side_apply(once, mine, "lanedesign", False, now)
    assert twice == once
    for path in field_paths(mine):
        node_once, node_mine = once, mine
        for key in path:
            node_once, node_mine = node_once[key], node_mine[key]
        assert node_once == node_mine


def test_a_write_into_a_namespace_that_does_not_exist_is_a_404(kube):
    standin, api = kube
    missing = {**vs(), "metadata": {**vs()["metadata"], "namespace": "nowhere"}}
    with pytest.raises(ApiException) as refused:
        api.patch_namespaced_custom_object(
            GROUP, VERSION, "nowhere", PLURAL, "reviews", missing, field_manager="lanedesign",
            _content_type="application/apply-patch+yaml")
    assert refused.value.status == 404
    assert json.loads(refused.value.body)["message"] == 'namespaces "nowhere" not found'
    standin.add(missing)  # a test's own setup makes the namespace, as `kubectl create ns`
    assert api.get_namespaced_custom_object(GROUP, VERSION, "nowhere", PLURAL, "reviews")
