"""Real Istio: ``istioctl validate`` and ``istioctl analyze -A`` accept every export as it is.

Each design is exported and put beside the cluster it runs in (``istio_workloads``: Services
with named ports, Pods labelled as each lane's subset selects, the ingress Gateway); Istio's
own validation and analyzers, over all namespaces (the EnvoyFilter and the gateway's
VirtualService live in ``istio-system``), must find no error and no warning but those the
validator predicts (LD602: IST0133 on the baggage EnvoyFilter; LD503: IST0130/IST0131 on a
shadowed ingress rule's route), on the examples and on the
same seeded random designs as the xDS tier. ``--with-gateway`` exports are analyzed without
the user's Gateway: the exported one must do (no IST0101).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from gotools import go_tool
from istio_runs import write_yaml
from istio_workloads import istio_extras, kube_objects
from test_emit_istio_xds import CASE_NAMES, variants

from lanedesign.emit.istio import emit_istio
from lanedesign.model import IngressRule, RequestMatch, StringMatch
from lanedesign.validate import validate

pytestmark = pytest.mark.istio

# what analyze may say without it being a problem of the export: informational messages
ALLOWED_LEVELS = {"Info"}


@pytest.fixture(scope="session")
def istioctl():
    return go_tool("istioctl")




def run(istioctl, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(istioctl), *args], capture_output=True, text=True, check=False,
                          timeout=300)


def analyze(istioctl, *files) -> list[dict]:
    """``istioctl analyze -A`` of the files alone (no cluster), its messages as JSON.

    ``-A``: every namespace; without it only ``default`` is analyzed, which would leave out
    the EnvoyFilter and the gateway's VirtualService in ``istio-system``."""
    done = run(istioctl, "analyze", "-A", "--use-kube=false", "-o", "json",
               *(str(f) for f in files))
    assert done.returncode in (0, 79), done.stderr[-2000:]  # 79: it found something
    return json.loads(done.stdout or "[]")


ENVOYFILTER_SCHEMA_WARNING = "EnvoyFilter exposes internal implementation details"


# analyze's IST0130/IST0131 on an ingress route an earlier one shadows (LD503 predicts it)
UNUSED_RULE_MESSAGE = re.compile(r'^VirtualService rule "rule-(\d+)-[^"]*"( match #\d+ is not '
                                 r"used| not used) ")


def unpredicted_messages(design, messages: list[dict]) -> list[dict]:
    """What analyze said beyond Info and beyond the validator's predictions: LD602 (IST0133
    on our EnvoyFilter, the warning ``istioctl validate`` gives too) and LD503 (IST0130,
    IST0131 on a shadowed ingress rule's route)."""
    findings = validate(design, "istio")
    envoy_filter = any(f.code == "LD602" for f in findings)
    shadowed = {f.path for f in findings if f.code == "LD503"}

    def predicted(m: dict) -> bool:
        if m["code"] == "IST0133":
            return envoy_filter and m["origin"].startswith("EnvoyFilter ") and (
                ENVOYFILTER_SCHEMA_WARNING in m["message"])
        rule = UNUSED_RULE_MESSAGE.match(m["message"])
        return m["code"] in ("IST0130", "IST0131") and rule is not None and (
            f"spec.ingress.rules[{rule.group(1)}]" in shadowed)

    return [m for m in messages if m["level"] not in ALLOWED_LEVELS and not predicted(m)]


# Istio's validation warns on every EnvoyFilter; the validator predicts it as LD602
ENVOYFILTER_WARNING = re.compile(r"^\s*\* envoyfilter/[^:]+: envoyfilter exposes internal "
                                 r"implementation details that may change at any time\.",
                                 re.IGNORECASE)


def warnings_of(output: str) -> list[str]:
    """The ``* kind/ns/name: text`` lines under istioctl validate's "has warnings:"."""
    return [line for line in output.splitlines() if line.lstrip().startswith("* ")]


# ... and on an ingress route whose match an earlier route already has: LD503 predicts it
UNUSED_RULE = re.compile(r'^\s*\* VirtualService/[^:]+: virtualService rule "rule-(\d+)-[^"]*"'
                         r"( match #\d+ is not used| not used) ")


def unpredicted(design, warnings: list[str]) -> list[str]:
    """The warnings no finding of the validator predicted."""
    findings = validate(design, "istio")
    shadowed = {f.path for f in findings if f.code == "LD503"}
    out = []
    for warning in warnings:
        rule = UNUSED_RULE.match(warning)
        if ENVOYFILTER_WARNING.match(warning) and any(f.code == "LD602" for f in findings):
            continue
        if rule and f"spec.ingress.rules[{rule.group(1)}]" in shadowed:
            continue
        out.append(warning)
    return out


@pytest.mark.parametrize("name", CASE_NAMES)
def test_istioctl_validate_accepts_the_export(istioctl, tmp_path, name):
    """No error; every warning is one the validator predicted (LD602, LD503)."""
    design = variants()[name]
    export = write_yaml(tmp_path, "export", emit_istio(design))
    done = run(istioctl, "validate", "-f", str(export))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    warnings = warnings_of(output)
    assert unpredicted(design, warnings) == [], output
    if not warnings:
        assert "warning" not in output.lower(), output
    # the EnvoyFilter warning comes exactly with the baggage method, as LD602 says
    assert any(ENVOYFILTER_WARNING.match(w) for w in warnings) == (
        design.pass_through.method == "baggage")


def test_an_unpredicted_warning_is_caught(istioctl, tmp_path):
    """The check bites: the same warnings without the validator's findings fail it."""
    base = variants()["mock-header"]
    match = RequestMatch(headers=(("x-user", StringMatch("exact", "alice")),))
    design = base.with_ingress(rules=(IngressRule("s2", match), IngressRule("s3", match)))
    done = run(istioctl, "validate", "-f", str(write_yaml(tmp_path, "x", emit_istio(design))))
    warnings = warnings_of(done.stdout + done.stderr)
    assert [w for w in warnings if UNUSED_RULE.match(w)], warnings  # Istio says it
    assert unpredicted(design, warnings) == []  # the validator said it first (LD503)
    assert unpredicted(base, warnings) != []  # without that finding the test would fail


@pytest.mark.parametrize("name", CASE_NAMES)
def test_istioctl_analyze_finds_only_what_the_validator_predicts(istioctl, tmp_path, name):
    design = variants()[name]
    objects = emit_istio(design)
    export = write_yaml(tmp_path, "export", objects)
    cluster = write_yaml(tmp_path, "cluster", [*kube_objects(design), *istio_extras(design)])
    messages = analyze(istioctl, export, cluster)
    assert unpredicted_messages(design, messages) == [], json.dumps(messages, indent=1)
    assert not [m for m in messages if m["code"] == "IST0151"]  # the filter has a priority
    # and the prediction is exact: IST0133 comes with the EnvoyFilter, on it alone
    filters = {f"EnvoyFilter {o['metadata']['namespace']}/{o['metadata']['name']}"
               for o in objects if o["kind"] == "EnvoyFilter"}
    assert {m["origin"] for m in messages if m["code"] == "IST0133"} == filters


def test_analyze_all_namespaces_sees_a_filter_without_priority(istioctl, tmp_path):
    """The check bites: the baggage EnvoyFilter as exported before it had a priority draws
    IST0151 under -A (in istio-system, which analyze without -A never looked at)."""
    design = variants()["mock-baggage"]
    objects = emit_istio(design)
    (envoy_filter,) = [o for o in objects if o["kind"] == "EnvoyFilter"]
    del envoy_filter["spec"]["priority"]
    cluster = write_yaml(tmp_path, "cluster", [*kube_objects(design), *istio_extras(design)])
    messages = analyze(istioctl, write_yaml(tmp_path, "export", objects), cluster)
    assert [m["code"] for m in unpredicted_messages(design, messages)] == ["IST0151"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_with_gateway_analyze_needs_no_gateway_of_the_users(istioctl, tmp_path, name):
    """``--with-gateway`` on a cluster without the ingress Gateway: nothing unpredicted, in
    particular no IST0101 (gateway not found) and no IST0132 (host not in the Gateway)."""
    design = variants()[name]
    cluster = write_yaml(tmp_path, "cluster", kube_objects(design))  # no istio_extras
    export = write_yaml(tmp_path, "export", emit_istio(design, with_gateway=True))
    messages = analyze(istioctl, export, cluster)
    assert unpredicted_messages(design, messages) == [], json.dumps(messages, indent=1)


@pytest.mark.parametrize("name", ["mock-baggage", "mock-header"])
def test_without_the_gateway_istio_says_ist0101(istioctl, tmp_path, name):
    """What a stock install says of the default export (its gateway `istio-system/
    ingressgateway` does not exist): IST0101 on the gateway's VirtualService."""
    design = variants()[name]
    assert design.ingress is not None and design.ingress.gateway == "istio-system/ingressgateway"
    cluster = write_yaml(tmp_path, "cluster", kube_objects(design))
    messages = analyze(istioctl, write_yaml(tmp_path, "export", emit_istio(design)), cluster)
    missing = [m for m in unpredicted_messages(design, messages) if m["code"] == "IST0101"]
    assert [m["origin"] for m in missing] == [
        f"VirtualService istio-system/{design.name}-ingress"], json.dumps(messages, indent=1)
    assert "istio-system/ingressgateway" in missing[0]["message"]


def test_istioctl_validate_accepts_the_exported_gateway(istioctl, tmp_path):
    design = variants()["mock-baggage"]
    export = write_yaml(tmp_path, "export", emit_istio(design, with_gateway=True))
    done = run(istioctl, "validate", "-f", str(export))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert unpredicted(design, warnings_of(output)) == [], output


def test_analyze_catches_a_broken_export(istioctl, tmp_path):
    """The check bites: a route to a subset no DestinationRule defines, two VirtualServices
    for one host."""
    design = variants()["mock-baggage"]
    objects = emit_istio(design)
    vs = next(o for o in objects
              if o["kind"] == "VirtualService" and o["metadata"]["name"] == "mock-baggage-mockb")
    twin = json.loads(json.dumps(vs))
    twin["metadata"]["name"] = "twin"
    vs["spec"]["http"][0]["route"][0]["destination"]["subset"] = "nope"
    kube = kube_objects(design)
    messages = analyze(istioctl, write_yaml(tmp_path, "export", [*objects, twin]),
                       write_yaml(tmp_path, "cluster", [*kube, *istio_extras(design)]))
    codes = {m["code"] for m in messages}
    assert {"IST0101", "IST0109"} <= codes, codes


def test_analyze_says_a_shadowed_rule_is_unused_as_ld503_predicts(istioctl, tmp_path):
    """The LD503 allowance bites: Istio reports the shadowed rule's route under -A, and
    without the validator's finding it would be unpredicted."""
    base = variants()["mock-header"]
    match = RequestMatch(headers=(("x-user", StringMatch("exact", "alice")),))
    design = base.with_ingress(rules=(IngressRule("s2", match), IngressRule("s3", match)))
    cluster = write_yaml(tmp_path, "cluster", [*kube_objects(design), *istio_extras(design)])
    messages = analyze(istioctl, write_yaml(tmp_path, "export", emit_istio(design)), cluster)
    assert {m["code"] for m in messages} & {"IST0130", "IST0131"}, messages
    assert unpredicted_messages(design, messages) == []
    assert unpredicted_messages(base, messages) != []
