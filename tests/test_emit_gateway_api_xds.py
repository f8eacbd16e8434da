"""Real Istio: its own control plane translates the Gateway API export, and sidecars route
every lane like the simulator.

The Go program ``tests/go/istio/xdsdump`` (Istio's in-process control plane, the fake
discovery server of Istio's own tests, with its Gateway API controller) reads the exported
version Services and HTTPRoutes beside a cluster made from the design (``istio_workloads``)
and dumps what each sidecar receives; ``xds_reader`` reads that as Envoy does. The version
Services get their EndpointSlices the way Kubernetes' endpoint controller would: the pods
whose labels their selector matches. The mesh routes (GAMMA, ``parentRefs`` kind Service)
are checked for every caller, callee and lane; the ingress route needs a Gateway API
Gateway Istio would deploy, which this fake control plane does not, so it is not part of
this check.
"""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import replace

import pytest
import yaml
from gateway_schema import with_defaults
from gotools import go_tool
from hypothesis import HealthCheck, Phase, given, settings
from istio_interpreter import headers_of
from istio_workloads import Workload, endpoint_slice, kube_objects, workloads
from strategies import designs
from test_emit_gateway_api import EXPRESSIBLE, carried, gatewayable
from xds_reader import Proxy, lua_chain, pods_by_ip

from lanedesign import examples
from lanedesign.emit.gateway_api import emit_gateway_api, gateway_api_problems
from lanedesign.findings import has_errors
from lanedesign.model import LaneDesign
from lanedesign.simulate import routing_table
from lanedesign.validate import validate

pytestmark = pytest.mark.istio

RANDOM_DESIGNS = 12


def seeded_designs(count: int) -> list[LaneDesign]:
    """``count`` distinct random designs the target accepts (default selectors, as the
    cluster of ``istio_workloads`` labels its pods ``app: <service>``), the same every run."""
    found: dict[str, LaneDesign] = {}
    kinds: dict[tuple[str, str, str], int] = {}

    @settings(max_examples=count * 40, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(designs().map(gatewayable))
    def collect(design: LaneDesign) -> None:
        design = design.with_(services=tuple(replace(s, selector=None)
                                             for s in design.services))
        assert design.ingress is not None
        kind = (design.pass_through.method, design.mode, design.ingress.strategy)
        # at most a quarter of the designs of one kind, so that every kind is seen
        if (len(found) < count and kinds.get(kind, 0) < count // 4
                and not has_errors(validate(design)) and not gateway_api_problems(design)):
            found.setdefault(repr(design), design)
            kinds[kind] = kinds.get(kind, 0) + 1

    collect()
    assert len(found) == count, f"only {len(found)} distinct random designs"
    return list(found.values())


@functools.cache
def variants() -> dict[str, LaneDesign]:
    out = {name: examples.load(name) for name in EXPRESSIBLE}
    for i, design in enumerate(seeded_designs(RANDOM_DESIGNS)):
        out[f"random-{i:02d}"] = design
    return out


CASE_NAMES = [*EXPRESSIBLE, *(f"random-{i:02d}" for i in range(RANDOM_DESIGNS))]
WRONG = "mock-header-wrong"  # mockb's route sends lane s3 to the baseline: the check must fail


def wrong_export(design: LaneDesign) -> list[dict]:
    objects = emit_gateway_api(design)
    for obj in objects:
        if obj["metadata"]["name"] == "mock-header-mockb" and obj["kind"] == "HTTPRoute":
            obj["spec"]["rules"][0]["backendRefs"][0]["name"] = "mockb-s1"
    return objects


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def cluster_for(shared, design: LaneDesign, exported: list[dict],
                ) -> tuple[list[dict], list[Workload]]:
    """The design's cluster, the export's Services and HTTPRoutes (with the defaults the API
    server fills in), and an EndpointSlice per version Service listing the pods its selector
    matches."""
    pods = workloads(design)
    objects = kube_objects(design)
    mesh = [with_defaults(shared, o) for o in exported
            if not (o["kind"] == "HTTPRoute" and o["spec"]["parentRefs"][0]["kind"] == "Gateway")]
    for svc in (o for o in mesh if o["kind"] == "Service"):
        meta, spec = svc["metadata"], svc["spec"]
        chosen = [w for w in pods if w.namespace == meta["namespace"] and w.service is not None
                  and selects(spec["selector"], w.labels)]
        objects.append(endpoint_slice(meta["name"], meta["namespace"], chosen,
                                      spec["ports"][0]["port"]))
    return [*objects, *mesh], [w for w in pods if w.service is not None]


@pytest.fixture(scope="session")
def dumps(shared_dir) -> dict[str, tuple[LaneDesign, list[dict], list[Workload], dict]]:
    binary = go_tool("xdsdump")
    cases = {}
    request = []
    exports = {name: (design, emit_gateway_api(design)) for name, design in variants().items()}
    exports[WRONG] = (examples.load("mock-header"), wrong_export(examples.load("mock-header")))
    for name, (design, exported) in exports.items():
        kube, pods = cluster_for(shared_dir, design, exported)
        cases[name] = (design, kube, pods)
        request.append({"name": name, "config": "",
                        "kube": "\n---\n".join(yaml.safe_dump(o, sort_keys=False)
                                               for o in kube),
                        "proxies": [w.proxy for w in pods]})
    done = subprocess.run([str(binary)], input=json.dumps({"cases": request}),
                          capture_output=True, text=True, check=False, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    answers = {a["name"]: a for a in json.loads(done.stdout)["cases"]}
    return {name: (*case, answers[name]) for name, case in cases.items()}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_istio_translates_the_export_without_errors(dumps, name):
    _design, _kube, pods, dump = dumps[name]
    assert dump["errors"] == []
    assert set(dump["proxies"]) == {w.name for w in pods}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_sidecar_routes_every_lane_to_the_simulators_pods(dumps, name):
    check_sidecars(*dumps[name])


def test_the_check_catches_a_wrong_route(dumps):
    assert dumps[WRONG][3]["errors"] == []  # valid to Istio, but not the design
    with pytest.raises(AssertionError, match="mockb-s1"):
        check_sidecars(*dumps[WRONG])


def check_sidecars(design: LaneDesign, kube: list[dict], pods: list[Workload],
                   dump: dict) -> None:
    """Each workload's sidecar, each service, each lane (none, unknown): the simulator's pod."""
    table = routing_table(design)
    by_ip = {w.ip: w for w in pods}
    known = pods_by_ip(kube)
    for caller in pods:
        proxy = Proxy(caller.name, dump["proxies"][caller.name])
        for callee in design.services:
            port = callee.port
            assert port is not None
            (chain,) = proxy.http_filters("OUTBOUND", port)
            assert lua_chain(chain) == []  # no EnvoyFilter: nothing rewrites the headers
            host = f"{callee.name}.{design.namespace_of(callee.name)}.svc.cluster.local"
            lanes = [*((lane, table[callee.name][lane]) for lane in design.lane_names),
                     (None, design.baseline), ("no-such-lane", design.baseline)]
            for lane, served in lanes:
                headers = headers_of({}) if lane is None else carried(design, lane)
                routed = proxy.route(str(port), host, "/", headers)
                assert routed.status == 200 and len(routed.clusters) == 1, (caller.name, lane)
                (cluster,) = routed.clusters
                ips = proxy.endpoints(cluster.name)
                assert len(ips) == 1 and ips[0] in known, (cluster.name, ips)
                pod = by_ip[ips[0]]
                assert (pod.service, pod.lane) == (callee.name, served), (
                    caller.name, lane, cluster.name)
