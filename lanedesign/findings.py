"""Findings: what is wrong (or worth knowing) about a design, as data with stable codes.

Every code lives in ``CATALOGUE`` with its severity, a one-line meaning and a generic fix;
``docs/findings.md`` is generated from it and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One validator finding; ``path`` points into the design file (``spec.lanes[1].name``)."""

    code: str
    severity: str
    path: str
    message: str
    hint: str

    @property
    def name(self) -> str:
        return CATALOGUE[self.code].name

    def to_dict(self) -> dict[str, str]:
        return {**asdict(self), "name": self.name}

    def __str__(self) -> str:
        return f"{self.severity:<7} {self.code} {self.path}: {self.message}"


@dataclass(frozen=True)
class CodeInfo:
    code: str
    name: str
    severity: str
    meaning: str
    fix: str


def _catalogue(*rows: tuple[str, str, str, str, str]) -> dict[str, CodeInfo]:
    return {row[0]: CodeInfo(*row) for row in rows}


CATALOGUE: dict[str, CodeInfo] = _catalogue(
    # -- the file itself ------------------------------------------------------------------
    ("LD001", "not-yaml", "error", "The file is not readable YAML text (syntax error, binary "
     "data, bad encoding).", "Fix the YAML syntax at the reported line; save as UTF-8 text."),
    ("LD002", "not-a-design", "error", "The document is not a lanedesign design: wrong "
     "apiVersion/kind, or not a mapping.", "Start from `apiVersion: lanedesign/v1alpha1`, "
     "`kind: LaneDesign`, `metadata`, `spec` (see examples/)."),
    ("LD003", "missing-field", "error", "A required field is missing.",
     "Add the field named in the path."),
    ("LD004", "wrong-type", "error", "A field has the wrong type (e.g. a string where a list "
     "is expected).", "Write the value with the type the design format gives."),
    ("LD005", "unknown-field", "warning", "A field that lanedesign does not know; it is "
     "ignored.", "Check the spelling against the design format, or remove the field."),
    ("LD006", "invalid-value", "error", "A value outside the allowed set (mode, method, "
     "strategy, match kind) or out of range.", "Use one of the values listed in the message."),
    ("LD007", "file-unreadable", "error", "The design file cannot be read (missing, a "
     "directory, no permission).", "Check the path."),
    # -- names ----------------------------------------------------------------------------
    ("LD101", "invalid-name", "error", "A name is not a DNS-1123 label (lowercase letters, "
     "digits, '-', at most 63 characters; Service names must start with a letter).",
     "Use lowercase letters, digits and '-', starting and ending with a letter or digit."),
    ("LD102", "invalid-header-name", "error", "A header name is not a lowercase HTTP token.",
     "Use lowercase letters, digits and '-' (e.g. `x-asm-prefer-tag`)."),
    ("LD103", "invalid-label", "error", "A pod label key or value is not a valid Kubernetes "
     "label.", "Keys: optional DNS prefix and '/', then up to 63 of [A-Za-z0-9-_.]; values "
     "likewise, no '*'."),
    ("LD104", "duplicate-name", "error", "Two services or two lanes share a name.",
     "Rename or merge one of them."),
    ("LD105", "invalid-baggage-key", "error", "The baggage member key is not an HTTP token.",
     "Use a key of letters, digits and `-._~` (e.g. the route header's name)."),
    ("LD106", "invalid-gateway", "error", "The ingress gateway is not `namespace/name` of "
     "DNS-1123 labels.", "Write it as `istio-system/ingressgateway`."),
    ("LD107", "invalid-selector", "error", "A service's `selector` has a key or value that is "
     "not a valid Kubernetes label.", "Write the labels every pod of the service carries, "
     "e.g. `{app: cart}`."),
    ("LD108", "empty-selector", "error", "A service's `selector` is empty; a Service with it "
     "would select no pods.", "Leave `selector` out (it means `app: <name>`) or give the "
     "labels of the service's pods."),
    ("LD109", "selector-lane-clash", "error", "A service's selector and the labels of a lane "
     "that holds it give the same key different values, so no pod can carry both.",
     "Use a label key for the lane (e.g. `version`) that the service's selector does not "
     "use."),
    ("LD110", "invalid-port", "error", "A service port is not as Kubernetes accepts it: a "
     "name that is not a DNS-1123 label, two ports with one name or number, a nameless port "
     "among several, a targetPort out of range.", "Copy the ports from the Service "
     "(`kubectl get svc NAME -o yaml`), or let `import-cluster` read them."),
    ("LD111", "port-not-listed", "error", "`port` (the port lanes route) is not one of the "
     "service's `ports`.", "Set `port` to one of the listed ports, or leave it out to route "
     "the first HTTP or gRPC port."),
    ("LD112", "udp-port", "info", "A UDP or SCTP port: the mesh does not proxy it, so no "
     "lane routes traffic on it.", "Nothing to do if the lanes need not route it."),
    # -- lanes and the baseline -----------------------------------------------------------
    ("LD201", "baseline-missing", "error", "No baseline lane is set, or it names no lane.",
     "Set `spec.baseline` to the lane that holds every service."),
    ("LD202", "baseline-incomplete", "error", "The baseline lane lacks a service; calls "
     "that fall back would have nowhere to go.", "Add the service to the baseline lane."),
    ("LD203", "strict-lane-incomplete", "error", "In strict mode a lane lacks a service.",
     "Add the service to the lane, or switch `spec.mode` to `loose`."),
    ("LD204", "duplicate-labels", "error", "Two lanes select pods with the same labels, so "
     "their subsets are the same pods.", "Give each lane its own label value."),
    ("LD205", "lane-unknown-service", "error", "A lane lists a service the design does not "
     "define.", "Add the service to `spec.services` or remove it from the lane."),
    ("LD206", "fallback-lacks-service", "error", "A per-service fallback target lane does "
     "not hold that service.", "Add the service to the target lane, or pick a lane that "
     "holds it."),
    ("LD207", "fallback-unknown-service", "error", "A fallback override names a service the "
     "design does not define.", "Fix the service name or remove the override."),
    ("LD208", "fallback-unknown-lane", "error", "A fallback override names a lane that does "
     "not exist.", "Fix the lane name or remove the override."),
    ("LD209", "lane-without-labels", "error", "A lane has no pod labels, so its subset would "
     "select every pod of the service.", "Give the lane a label such as `version: v2`."),
    ("LD210", "duplicate-member", "warning", "A lane lists the same service twice.",
     "Remove the duplicate."),
    ("LD211", "fallback-in-strict", "warning", "Fallback overrides have no effect in strict "
     "mode, where every lane holds every service.", "Remove `spec.fallback` or switch to "
     "loose mode."),
    ("LD212", "empty-lane", "warning", "A lane holds no service; every call in it falls "
     "back.", "Add the services that have a version in this lane, or remove the lane."),
    ("LD213", "tcp-service-in-lane", "error", "A lane holds a service whose ports are all "
     "TCP (tcp, tls, https passthrough, redis, mongo, mysql): the mesh routes TCP by "
     "destination only, so no header can pick the lane's version and every lane would "
     "reach every version's pods.", "Take the service out of the lane (its baseline version "
     "serves every lane), or give the lane's version a Service of its own and make the "
     "lane's callers call it; an HTTP or gRPC port would let the header route it."),
    # -- headers and pass-through ---------------------------------------------------------
    ("LD301", "header-method-mismatch", "error", "With the `header` method the propagated "
     "header is the route header, but `traceHeader` differs from `routeHeader`.",
     "Set `traceHeader` equal to `routeHeader`, or leave it out."),
    ("LD302", "reserved-route-header", "error", "The route header is `baggage`, a trace "
     "header, a pseudo-header or `host`; it cannot name a lane.",
     "Choose a header of its own such as `x-asm-prefer-tag`."),
    ("LD303", "trace-header-missing", "error", "The `traceId` method needs the trace header "
     "that the apps propagate.", "Set `passThrough.traceHeader` (e.g. `x-b3-traceid`)."),
    ("LD304", "trace-header-is-route-header", "error", "With the `traceId` method the trace "
     "header must differ from the route header (a unique-per-trace id cannot name a lane).",
     "Use the `header` method if the apps propagate the route header itself."),
    ("LD305", "ignored-pass-through-field", "warning", "A pass-through field that the chosen "
     "method does not use.", "Remove the field, or choose the method that uses it."),
    # -- the call graph -------------------------------------------------------------------
    ("LD401", "unknown-callee", "error", "A service calls a service the design does not "
     "define.", "Add the callee to `spec.services` or fix the name."),
    ("LD402", "call-cycle", "warning", "The call graph has a cycle; the simulator stops at "
     "the repeated service.", "Check the calls; cycles are legal but often a typo."),
    ("LD403", "context-dropped", "info", "A service does not propagate the lane context; "
     "everything it calls is served by the baseline.", "Propagate the context in the app "
     "(e.g. OpenTelemetry baggage), or accept the baseline downstream."),
    ("LD404", "unreachable-service", "info", "A service cannot be reached from the entry "
     "service, so no simulated request touches it.", "Add the calls that reach it, or check "
     "the entry service."),
    ("LD405", "lane-calls-unused", "warning", "`laneCalls` names a lane that does not "
     "exist or does not hold the service, so that version's calls are never used.",
     "Fix the lane name, or put the service into the lane."),
    ("LD406", "context-not-forwarded", "warning", "The app forwards a fixed list of request "
     "headers (`forwards`) without the one that carries the lane context for the design's "
     "pass-through method, so everything it calls is served by the baseline.", "Forward the "
     "header in the app, or switch to a pass-through method whose header the app forwards "
     "(the message names them)."),
    # -- message topics (docs/queues.md) ---------------------------------------------------
    ("LD410", "topic-name", "error", "A topic's name is empty, duplicated or not a broker-safe "
     "name (letters, digits, `.`, `_`, `-`; at most 249 characters, Kafka's limit), or its "
     "broker label is empty.", "Give each topic one unique name such as `orders`, and a "
     "broker label (`kafka`, `rabbitmq`, ...)."),
    ("LD411", "unknown-topic", "error", "A service publishes to or consumes a topic that "
     "`spec.topics` does not define.", "Add the topic to `spec.topics` or fix the name."),
    ("LD412", "topic-no-consumer", "warning", "A topic is published to but no service "
     "consumes it, so the request's path ends at the producer.", "Add `consumes: [<topic>]` "
     "to the service that reads it, or stop publishing."),
    ("LD413", "topic-no-producer", "warning", "A topic is consumed but no service publishes "
     "to it, so its consumers never receive a message from a simulated request.",
     "Add `publishes: [<topic>]` to the service that writes it, or drop the consume."),
    ("LD414", "lane-producer-without-consumer", "warning", "Loose mode: a lane holds a "
     "topic's producer but not its consumer, which ASM calls an illegal deployment: the "
     "producer writes the lane as the filter key and no consumer of that lane subscribes to "
     "it. lanedesign's rule has the consumer's fallback target (else the baseline) take such "
     "messages, which works only if that consumer also subscribes to this lane's key.",
     "Put the consumer into the lane too, or take the producer out of it (then its fallback "
     "produces with its own lane's key); otherwise configure the fallback consumer to take "
     "this lane's key."),
    ("LD415", "strict-producer-without-consumer", "error", "Strict mode: a lane holds a "
     "topic's producer but not its consumer; with no fallback, nothing takes the messages "
     "that lane's producer writes.", "Put the consumer into the lane (strict lanes hold "
     "every service)."),
    ("LD416", "lane-consumer-without-producer", "warning", "A lane holds a topic's consumer "
     "but none of its producers: the lane's requests reach the producer's fallback version, "
     "which writes its own lane as the filter key, so this lane's consumer never receives "
     "a message (ASM: an illegal deployment).", "Put a producer of the topic into the lane, "
     "or take the consumer out of it."),
    ("LD417", "consumer-not-filtering", "warning", "A consumer that several lanes hold does "
     "not filter messages by lane (`filtersByLane: false`): its versions compete for every "
     "message, so a lane's version takes other lanes' and the baseline's messages, and lane "
     "messages reach the baseline, at random.", "Give each lane's consumer a filter (or "
     "consumer group, or queue) on its own lane, and set `filtersByLane: true`."),
    ("LD418", "producer-drops-context", "info", "A producer does not carry the lane context "
     "on, so its messages carry no lane tag: the baseline's consumer takes them and its "
     "calls are served by the baseline.", "Write the request's lane tag into each message "
     "(e.g. OpenTelemetry baggage in the message headers), or accept the baseline after the "
     "topic."),
    ("LD419", "topic-unused", "info", "A topic that no service publishes to or consumes.",
     "Remove the topic, or add the services that use it."),
    # -- ingress --------------------------------------------------------------------------
    ("LD501", "entry-missing", "error", "No ingress, or its entry service is missing or "
     "unknown.", "Set `spec.ingress.entry` to the service the gateway sends requests to, and "
     "`spec.ingress.default` to the baseline so requests that name no lane reach it."),
    ("LD502", "rule-unknown-lane", "error", "An ingress rule, weight or default names a lane "
     "that does not exist.", "Fix the lane name."),
    ("LD503", "rule-shadowed", "warning", "An ingress rule can never match: an earlier rule "
     "matches every request it would.", "Move the narrower rule first or narrow the earlier "
     "one."),
    ("LD504", "weights-not-100", "error", "Weighted ingress weights do not sum to 100.",
     "Make the lane weights add up to 100."),
    ("LD505", "weight-negative", "error", "A weight is negative.", "Use weights >= 0."),
    ("LD506", "invalid-match", "error", "A match condition is invalid: empty prefix or "
     "regex, a regex that is not RE2 or longer than 1024 characters.",
     "Fix the match; regexes are RE2 and match the whole value."),
    ("LD507", "strategy-fields", "warning", "Ingress fields that the chosen strategy "
     "ignores (weights with rules, rules with weighted).", "Remove them, or switch strategy."),
    ("LD508", "weights-missing", "error", "Weighted ingress without weights.",
     "Give `spec.ingress.weights` a weight per lane."),
    ("LD509", "lane-not-entered", "warning", "No ingress rule, weight or default sends "
     "traffic into this lane: no request can reach it.", "Add a rule or a weight for the lane "
     "(the designer offers the rule); a lane meant to take no traffic yet can stay."),
    ("LD510", "invalid-host", "error", "An ingress host is not a valid host name or "
     "`*`-prefixed wildcard.", "Write hosts like `shop.example.com`, `*.example.com` or `*`."),
    ("LD511", "no-default-lane", "info", "Requests that name no lane and match no ingress "
     "rule get HTTP 404 at the gateway (`spec.ingress.default` is not set).",
     "Set `spec.ingress.default` to the baseline so they reach it, unless 404 is intended."),
    # -- targets --------------------------------------------------------------------------
    ("LD601", "traceid-needs-asm", "error", "The `traceId` method needs ASM's trace-id -> "
     "lane memory (TrafficLabel); plain Istio cannot express it.",
     "Export with `--target asm`, or switch the design to the `baggage` method."),
    ("LD602", "istio-envoyfilter-warning", "info", "The `baggage` method on plain Istio needs "
     "an EnvoyFilter (Lua); Istio's validation warns on every EnvoyFilter that it exposes "
     "internal details that may change between releases (`istioctl validate`, and "
     "`kubectl apply` through Istio's webhook).", "Expected: re-run the `istio` tests (or "
     "check the filter in a staging mesh) before upgrading Istio; the `header` method needs "
     "no EnvoyFilter when the apps copy the route header."),
    # -- export folders (lanedesign export --out, the designer's files; docs/istio.md) -----
    ("LD603", "export-index-unreadable", "warning", "The export folder's index "
     "(`.lanedesign-export.json`, what lanedesign wrote there) is unreadable or not one "
     "lanedesign wrote; the files were written, but no stale file was removed.",
     "Fix the index, or delete it and remove stale files by hand once: the next export "
     "starts a new index."),
    ("LD604", "export-stale-file-changed", "warning", "A file lanedesign wrote for an object "
     "the design no longer emits was changed since; it is kept.", "Delete the file if the "
     "object should go, or move it out of the export folder to keep it."),
    ("LD605", "export-stale-file-not-removed", "warning", "A file lanedesign wrote for an "
     "object the design no longer emits could not be removed (permissions).",
     "Remove it by hand, or fix the folder's permissions and export again."),
    # -- the ASM target (docs/asm.md says why each is refused) --------------------------------
    ("LD610", "asm-default-lane", "error", "ASM's lane ingress rules have no route for "
     "unmatched requests (they get 404), and a catch-all rule in the default lane would race "
     "the other lanes' rules, whose order ASM decides.", "Remove `spec.ingress.default` "
     "(clients then name the lane in the route header), or send all rules to that lane."),
    ("LD611", "asm-rule-order", "error", "Ingress rules of different lanes can match the same "
     "request; ASM keeps rules per lane and orders the lanes itself, so the design's "
     "first-match order between them is lost.", "Make the rules of different lanes exclusive, "
     "e.g. each matching the route header `exact` its lane."),
    ("LD612", "asm-baggage-key", "error", "ASM carries the route header in baggage under the "
     "header's own name; a different baggage key cannot be expressed.",
     "Leave `passThrough.baggageKey` out, or set it to the route header's name."),
    ("LD613", "asm-strict-keeps-lane", "error", "In ASM strict mode every pod's own lane label "
     "keeps the chain in its lane, so a service that drops the context does not send its "
     "calls to the baseline as the design says.", "Mark the service `propagates: true` (ASM "
     "strict mode needs no propagation), or use loose mode."),
    ("LD614", "asm-empty-match", "error", "An ingress match with an empty value: ASM's "
     "StringMatch drops empty values, so the condition would vanish.",
     "Give the match a non-empty value."),
    ("LD615", "asm-trace-header-baggage", "error", "With the traceId method the trace header "
     "is `baggage`; ASM reads `traceHeader: baggage` as the baggage method.",
     "Use the `baggage` method, or a trace header such as `x-b3-traceid`."),
    # -- the Gateway API target (docs/gateway-api.md says why each is refused) ---------------
    ("LD620", "gateway-api-traceid", "error", "The `traceId` method needs a mesh that remembers "
     "trace id -> lane (ASM's TrafficLabel); the Gateway API has nothing like it.",
     "Export with `--target asm`, or switch the design to the `baggage` or `header` method."),
    ("LD621", "gateway-api-port-needed", "error", "A Gateway API backend that is a Service must "
     "name its port (a CEL rule of the HTTPRoute CRD), and the version Services need it too.",
     "Set the service's `port`, or list its `ports` (then the first HTTP or gRPC port is "
     "routed)."),
    ("LD622", "gateway-api-name-clash", "error", "The version Service `<service>-<lane>` would "
     "have the name of a service of the design, or of another version Service, in the same "
     "namespace.", "Rename the lane or the service."),
    ("LD623", "gateway-api-baggage-at-ingress", "error", "With the baggage method the gateway "
     "takes the lane from baggage when the route header is absent, so an ingress match on the "
     "route header also means \"or absent and named in baggage\"; Gateway API matches cannot "
     "test that a header is absent.", "Use the `header` method, or match other request "
     "fields (path, other headers) or a weighted split at the ingress."),
    ("LD624", "gateway-api-path-match", "error", "A uri prefix (other than `/`) or regex match: "
     "Gateway API prefixes match whole path segments (`/api` does not match `/apix`) and the "
     "precedence of regular-expression paths is left to each implementation; or an exact path "
     "the CRD refuses.", "Match an exact path, or put the lane in a header match."),
    ("LD625", "gateway-api-rule-precedence", "error", "A later ingress rule of another lane is "
     "more specific (exact path, more headers) than an earlier one that can match the same "
     "request; the Gateway API picks the most specific match, not the first.",
     "Order the rules from most to least specific, or make them exclusive (e.g. each on the "
     "route header `exact` its lane)."),
    ("LD626", "gateway-api-limits", "error", "More hosts or weighted lanes than one HTTPRoute "
     "holds (16 each), or more than 16 ingress rules where two rules of different lanes that "
     "land in different routes can match one request equally specifically (the routes' age "
     "would decide).", "Use fewer hosts, weighted lanes or ingress rules, or make rules of "
     "different lanes exclusive (e.g. each on the route header `exact` its lane)."),
    ("LD627", "gateway-api-hostname", "error", "An ingress host the Gateway API does not accept "
     "as a hostname (uppercase, an IP address).", "Write hosts as lowercase DNS names, "
     "optionally `*.`-prefixed, or `*` for any host."),
    ("LD628", "gateway-api-empty-value", "error", "An ingress header match with an empty value; "
     "Gateway API header matches need a value.", "Give the match a non-empty value."),
    ("LD629", "gateway-api-baggage-key", "error", "The baggage key holds `%`, which Envoy-based "
     "implementations read as the start of a formatter in header values.",
     "Use a baggage key without `%`, e.g. the route header's name."),
    ("LD630", "gateway-api-tcp-entry", "error", "The ingress entry service has only TCP "
     "ports (tcp, tls, redis, ...): the ingress is an HTTPRoute, which sends HTTP requests to "
     "its backends.", "Make the service the gateway sends HTTP requests to the entry, or give "
     "the entry service its HTTP or gRPC port in `ports`."),
    ("LD631", "gateway-api-port-not-http", "error", "The port lanes route (`port`) is not an "
     "HTTP, HTTP/2 or gRPC port (its name or appProtocol says tcp, tls, redis, ... or it is "
     "UDP), so an HTTPRoute attached to it does nothing.", "Set `port` to the service's HTTP "
     "or gRPC port, or leave it out to route the first one."),
    ("LD632", "gateway-api-port-not-routed", "warning", "A service that lanes route has more "
     "than one HTTP or gRPC port; the HTTPRoutes attach to the routed port only, so calls to "
     "the others reach every version's pods through the service's own Service.",
     "Nothing to do if callers use only the routed port; else set `port` to the one they "
     "call."),
    # -- Istio ambient mode (docs/ambient.md) -------------------------------------------------
    ("LD640", "ambient-istio-target", "error", "The design targets Istio's ambient data plane, "
     "where L7 routing happens only in waypoints: the `istio` target's EnvoyFilter (the "
     "baggage Lua filter) is not applied on waypoints, and VirtualService is not the API "
     "waypoints are meant to be configured with.", "Export with `--target gateway-api` "
     "(HTTPRoutes plus the waypoints and their `istio.io/use-waypoint` labels), or set "
     "`spec.dataPlane: sidecar`."),
    ("LD641", "ambient-traceid", "error", "The `traceId` method needs a proxy beside each app "
     "that remembers trace id -> lane (ASM's sidecar TrafficLabel); in ambient mode there is "
     "none: ztunnel carries L4 only and a waypoint sees each call on its own.",
     "Switch the design to the `baggage` or `header` method (the apps then forward that "
     "header), or keep sidecars (`spec.dataPlane: sidecar`)."),
    ("LD642", "ambient-pass-through", "info", "In ambient mode no proxy beside the app copies "
     "the lane context: each app must forward the route header (header method) or the "
     "`baggage` member (baggage method) on its own outbound calls, and the ingress gateway "
     "sets it on the way in.", "Expected: check that every app forwards the context header "
     "(an OpenTelemetry SDK forwards `baggage`); mark the ones that do not `propagates: "
     "false`, so validate and simulate show where the lane is lost."),
    ("LD643", "ambient-asm-unknown", "warning", "ASM documents its traffic lanes "
     "(ASMSwimLaneGroup) for sidecars; whether the VirtualServices, ASMHeaderPropagation and "
     "TrafficLabel it generates take effect in ASM's ambient mode is not documented.",
     "Try the lanes in a staging ASM ambient mesh first, or export with `--target "
     "gateway-api` (ASM 1.27 passes the Gateway API's mesh conformance)."),
    ("LD644", "waypoint-without-ambient", "warning", "`spec.waypoint` is set, but the design "
     "targets sidecars (`spec.dataPlane: sidecar`): no waypoint is emitted.",
     "Set `spec.dataPlane: ambient`, or remove `spec.waypoint`."),
    ("LD645", "invalid-waypoint-name", "error", "A waypoint name is not a DNS-1123 label (at "
     "most 63 characters): `spec.waypoint.name`, or `<service>-waypoint` with scope service.",
     "Use lowercase letters, digits and '-'; with scope service, a service name of at most "
     "54 characters."),
    ("LD646", "waypoint-name-clash", "error", "Istio deploys a waypoint as a Deployment and a "
     "Service named after its Gateway; that name is already a service of the design, a "
     "version Service (`<service>-<lane>`) or the ingress Gateway in the same namespace.",
     "Give the waypoint another `spec.waypoint.name`, or rename the service or lane."),
    ("LD647", "waypoint-namespace-wide", "info", "With `scope: namespace` the namespace's "
     "`istio.io/use-waypoint` label sends calls to every Service in it through the waypoint, "
     "also Services the design does not name.", "Expected for a namespace the lanes own; use "
     "`spec.waypoint.scope: service` to enrol only the lane-routed services."),
    # -- reading ASM objects (lanedesign import-asm) ----------------------------------------
    ("LD701", "asm-group-missing", "error", "The input holds no ASMSwimLaneGroup (or none of "
     "the requested name).", "Import YAML with an `istio.alibabacloud.com/v1` "
     "ASMSwimLaneGroup, e.g. `kubectl get asmswimlanegroup,asmswimlane -o yaml`."),
    ("LD702", "asm-several-groups", "error", "The input holds several ASMSwimLaneGroups; one "
     "design is one group.", "Choose one with `--group NAME`."),
    ("LD703", "asm-lane-without-group", "error", "An ASMSwimLane has no `swimlane-group` label, "
     "or names a group that is not in the input.", "Label the lane `swimlane-group: <group>` "
     "and import it together with its group."),
    ("LD704", "asm-ignored-document", "warning", "A document that is not an ASM lane object "
     "(ASMSwimLaneGroup/ASMSwimLane, istio.alibabacloud.com/v1); it is skipped.",
     "Remove it from the input, or ignore this warning."),
    ("LD705", "asm-calls-unknown", "info", "ASM objects do not hold the call graph (nor the "
     "ports of services other than the entry, nor which apps propagate the context).",
     "Add each service's `calls` to the design so that simulate can walk the chain."),
    ("LD706", "asm-field-dropped", "warning", "An ASM field that lanedesign does not model "
     "(cluster references, the group's default patches, a lane's service patches, route-patch "
     "fields other than route settings, autoUpdate); it is not in the design and an export "
     "leaves it out.", "Keep such settings outside lanedesign, or "
     "re-apply them after export."),
    ("LD707", "asm-inexpressible", "error", "ASM settings that one lane design cannot hold "
     "(lanes routing to different entry services or hosts, several weighted matches, two "
     "services of one name, a non-ASM gateway).", "Split the group, or make the settings "
     "agree; the message names the conflict."),
    ("LD708", "asm-rule-offline", "warning", "An ASM ingress rule with `online: false` routes "
     "nothing; it is left out of the design.", "Set `online: true` if the rule should route."),
    ("LD709", "asm-unknown-service", "error", "A lane, fallback target or destination names "
     "a service that is not in the group's services.", "Add the service to the "
     "ASMSwimLaneGroup's `services`, or fix the reference."),
    # -- lanes across message queues: what the apps need, what the brokers' metrics show --
    ("LD730", "mesh-does-not-route-messages", "info", "The mesh does not route messages: "
     "the producer must write its own lane and the request's lane tag into each message, and "
     "each consumer take only its lane's messages (`lanedesign consumers`).", "Apply the "
     "ConfigMaps and Deployment patches of `lanedesign consumers` in your own charts and make "
     "the apps read them."),
    ("LD731", "no-topics", "info", "The design has no topics, so no app needs lane settings "
     "for messages.", "Add `spec.topics` and the services' `publishes`/`consumes` where a "
     "lane crosses a queue."),
    ("LD732", "unknown-broker", "info", "A topic's broker is not one lanedesign knows; it is "
     "shown with one consumer group per lane, as for Kafka.", "Use kafka, rocketmq, pulsar, "
     "rabbitmq, sqs, ... as `broker`, or read the groups as queues if your broker has queues."),
    ("LD733", "consumer-settings-not-in-force", "warning", "A consumer does not filter by lane "
     "(`filtersByLane: false`): every version takes every lane's messages, so the per-lane "
     "settings are not in force.", "Make the consumer take only the keys its lane serves "
     "(`lanedesign consumers`), then drop `filtersByLane: false`."),
    ("LD734", "lane-label-added", "info", "No pod label holds the lane's name in every lane; "
     "the Deployment patches add the label `lanedesign.io/lane` for the lane env var.",
     "Nothing to do; or give every lane a label whose value is its name (e.g. "
     "`ASM_TRAFFIC_TAG: s2`)."),
    ("LD735", "consumer-group-missing", "error", "A consumer group (or queue) the design "
     "expects for a lane has no series in the broker's metrics: that lane's consumer is not "
     "running, or uses another name, and its messages wait or go elsewhere.", "Deploy the "
     "lane's consumer with the group of `lanedesign consumers`, or check the exporter."),
    ("LD736", "consumer-group-unexpected", "warning", "The broker's metrics show a consumer "
     "group (or queue) of a designed topic that the design does not expect, e.g. one shared "
     "group for every lane or a group of a lane that is not in the design.", "Rename the "
     "consumer's group to its lane's (`lanedesign consumers`), or remove the stray consumer."),
    ("LD737", "consumer-lag", "warning", "A lane's consumer group lags behind its topic by "
     "more messages than the limit.", "Check that the lane's consumer runs and takes the keys "
     "it serves; raise `--max-lag` if the lag is expected."),
    ("LD738", "messages-not-observable", "info", "The lane of a message is not in the mesh's "
     "metrics; only a broker exporter's per-group series (e.g. kafka_consumergroup_lag) can "
     "show the lanes' consumers, and Prometheus has none for this topic.", "Run the broker's "
     "exporter (kafka-exporter, rabbitmq's prometheus plugin) and have Prometheus scrape it."),
    ("LD739", "queue-shared-by-services", "warning", "A topic of kind `queue` is consumed by "
     "more than one service. On a queue (RabbitMQ, SQS) the services compete: each message "
     "reaches one of them, while lanedesign (like a topic's fan-out) delivers it to each, so "
     "the simulated chains overstate what runs after the queue.", "Give each consuming service "
     "its own queue (a fan-out exchange, an SNS topic in front of per-service SQS queues) and "
     "mark the topic `kind: topic` or `exchange`; or keep one consumer service per queue."),
    # -- designed vs observed (lanedesign observe: the mesh's metrics read against the design)
    ("LD800", "observe-failed", "error", "Prometheus could not be asked: unreachable, refused "
     "the token, or answered something that is not a query result.", "Check `--prometheus` "
     "(the URL of the Prometheus HTTP API), `--token-file`, and that the server is up."),
    ("LD801", "lane-diverges", "error", "Calls of a lane reached a version the design does not "
     "expect for it.", "Compare the applied VirtualService of the callee with the design "
     "(`lanedesign diff`); apply the design."),
    ("LD802", "context-lost", "error", "Calls of a lane reached the baseline because the "
     "caller dropped the lane context (no lane tag on its calls, or the baseline version "
     "reached where the lane's is expected).", "Propagate the context in the caller (e.g. "
     "OpenTelemetry baggage), or mark it `propagates: false` in the design."),
    ("LD803", "lane-version-absent", "error", "Calls of a lane fell back because no pod with "
     "the lane's version of the callee served any call.", "Deploy the lane's version of the "
     "service (and check it is ready), or take the service out of the lane."),
    ("LD804", "call-not-in-design", "warning", "The mesh carried a call the design lacks (or "
     "from or to a workload that is not one of its services).", "Add the call (or service) "
     "to the design, or find out why the app makes it."),
    ("LD805", "designed-call-unseen", "warning", "A call of the design that no request made "
     "in the window.", "Remove the call from the design if the app no longer makes it, or "
     "check that traffic reaches the caller."),
    ("LD806", "lanes-indistinguishable", "info", "Without a lane tag in the metrics, hops "
     "where several lanes call the same versions cannot be attributed to one lane.",
     "Export with `--telemetry` so that Istio's request metrics carry the lane."),
    ("LD807", "unknown-lane-tag", "warning", "Calls carry a lane tag that names no lane of "
     "the design.", "Add the lane, or find the client sending that route header value."),
    ("LD808", "lane-without-traffic", "info", "No call carried this lane in the window.",
     "Send traffic into the lane, or widen `--window`."),
    ("LD809", "lane-not-observable", "warning", "The lane's pod labels have no version label "
     "(`version`, `app.kubernetes.io/version`), so Istio's metrics cannot show its pods.",
     "Label the lane's pods with a `version` that names the lane."),
    ("LD810", "no-traffic", "warning", "Prometheus holds no request metrics for the design's "
     "services in the window.", "Widen `--window`, check `--at`, or check that Istio's "
     "telemetry reaches this Prometheus."),
    ("LD811", "lane-tag-partial", "warning", "Some request metrics carry the lane tag and "
     "others, in some namespaces, do not: the Telemetry does not cover every namespace. Those "
     "calls are not judged.", "Apply the Telemetry of `lanedesign export --telemetry` in every "
     "namespace of the design."),
    ("LD812", "ingress-split-diverges", "warning", "A weighted ingress sent a lane a share of "
     "the requests that its weight does not give (beyond random noise).", "Compare the "
     "gateway VirtualService's weights with the design (`lanedesign diff`), then apply."),
    # -- the cluster: routing objects of other owners (diff, apply; docs/cluster.md) ---------
    ("LD900", "foreign-virtualservice", "error", "A mesh VirtualService of another owner routes "
     "a host the design routes; sidecars keep one VirtualService per host (the oldest, unless "
     "`exportTo` makes one private to the caller's namespace) and silently drop the other, so "
     "either the lanes never route or the team's routes (retries, faults, test routes) vanish.",
     "Remove the team's object or hand it over (move its routes into the design); "
     "`apply --allow-overlap` applies anyway."),
    ("LD901", "foreign-destinationrule-merged", "warning", "A DestinationRule of another owner "
     "configures a host the design routes; Istio merges the two (the older one's subsets and "
     "traffic policy first) and nothing is lost as long as both stay as they are.",
     "Hand the rule over (its subsets and policy into the design), or leave it and apply with "
     "`--allow-overlap`."),
    ("LD902", "foreign-destinationrule-clash", "error", "A DestinationRule of another owner "
     "configures a host the design routes and something is lost: a subset name both define "
     "with different labels (the older wins), a second top-level traffic policy, or a rule "
     "Istio does not merge (another namespace, exportTo or a workloadSelector) that lacks the "
     "lane subsets.", "Remove or rename the clashing subsets in the team's rule, or hand the "
     "rule over; `apply --allow-overlap` applies anyway."),
    ("LD903", "foreign-service-httproute", "error", "An HTTPRoute of another owner is attached "
     "to a Service the design routes; Istio makes it the mesh route for that host (one per "
     "host), or, next to the lanes' HTTPRoutes, the Gateway API merges the rules by "
     "precedence.", "Remove the team's HTTPRoute or hand it over; `apply --allow-overlap` "
     "applies anyway."),
    ("LD904", "foreign-gateway-virtualservice", "error", "A VirtualService of another owner is "
     "bound to the design's ingress gateway for the same hosts; the gateway merges the routes "
     "in age order with every catch-all last, so some requests skip the lanes or the team's "
     "routes.", "Remove the team's VirtualService, give it other hosts, or hand it over; "
     "`apply --allow-overlap` applies anyway."),
    ("LD905", "foreign-gateway-httproute", "error", "An HTTPRoute of another owner is attached "
     "to the design's Gateway for the same hostnames; the Gateway API merges its rules with "
     "the lanes' by precedence.", "Remove the team's HTTPRoute, give it other hostnames, or "
     "hand it over; `apply --allow-overlap` applies anyway."),
    ("LD906", "ingress-gateway-missing", "warning", "The ingress gateway the design names "
     "(`spec.ingress.gateway`) does not exist in the cluster (an Istio Gateway for the istio "
     "target, a Gateway API Gateway for gateway-api): the ingress routes bind to nothing "
     "(istioctl analyze: IST0101).", "Create the Gateway, name an existing one, or export it "
     "with the lanes (`--with-gateway`)."),
    ("LD909", "overlaps-unchecked", "warning", "A kind of routing object could not be listed "
     "(no permission), so objects of other owners of that kind were not checked.",
     "Grant `list` on VirtualServices, DestinationRules and HTTPRoutes, or check by hand "
     "(`kubectl get virtualservices,destinationrules,httproutes -A`)."),
    # -- taking over the team's objects (apply --adopt) and handing them back (remove) ------
    ("LD910", "adopt-routing-differs", "error", "`apply --adopt`: the design does not carry a "
     "team object's routing exactly (what `import-cluster --adopt` reads from the live "
     "object differs from the service's `routing`); adopting would lose what differs, so "
     "nothing is adopted or written.", "Import the team's routing first (`lanedesign "
     "import-cluster --adopt`) or add it to `services[].routing` (docs/istio.md, \"A team's "
     "routing\"), then apply --adopt again."),
    ("LD911", "adopt-not-carried", "error", "`apply --adopt`: one service's routing cannot "
     "hold a team object exactly (a wildcard or several hosts, delegation, tcp/tls routes, "
     "exportTo, a match or destination it cannot hold: LD950-LD955), so nothing is adopted "
     "or written.", "Change or split the team's object, or leave it and apply with "
     "`--allow-overlap`."),
    ("LD912", "adopt-not-adoptable", "warning", "`apply --adopt` does not take over this "
     "overlap (an HTTPRoute, or a VirtualService on the design's gateway that the design's "
     "ingress does not carry exactly): neither a service's routing nor the ingress holds it, "
     "so it stays in the way and its own finding still blocks.", "Remove it or give it "
     "other hosts, import the team's gateway route into the ingress (`import-cluster "
     "--adopt`), or apply with `--allow-overlap`."),
    ("LD913", "adopt-record-unreadable", "error", "`remove`: the record of adopted team "
     "objects on one of the lane group's objects (annotation `lanedesign.io/adopted`) cannot "
     "be read, so they cannot be handed back; nothing is removed.", "Recreate the team's "
     "objects by hand from the annotation (`kubectl get -o yaml`), delete the annotation, "
     "then run remove again."),
    ("LD914", "adopt-already-back", "warning", "`remove`: a team object recorded as adopted "
     "exists again (someone recreated it); it is left as it is and the record is not "
     "applied.", "If it matters, compare it with the record before removing (`kubectl get "
     "-o yaml` of lanedesign's object)."),
    ("LD915", "adopted", "info", "`apply --adopt` takes over a team object whose routing the "
     "design carries: it is recorded on lanedesign's object of the same kind for the host "
     "(annotation `lanedesign.io/adopted`) and deleted once that object routes.", "Nothing "
     "to do; `lanedesign remove` recreates it as it was."),
    ("LD916", "remove-refused", "error", "`remove`: the API server refuses a step of the "
     "removal in its dry run (recreating a recorded team object, or deleting one of the lane "
     "group's objects), so nothing is removed.", "Fix what the server says (permissions, a "
     "CRD schema, a missing namespace), then run remove again."),
    ("LD917", "prune-keeps-adopted", "warning", "A prune candidate carries the record of "
     "team objects it adopted (annotation `lanedesign.io/adopted`): `apply --prune` leaves "
     "it, so the record is not lost with it.", "Run `lanedesign remove` to hand the team's "
     "objects back and delete the lane group, or put the service back into the design."),
    # -- cluster import (import-cluster: an app's own Services and Deployments) LD920-LD939
    ("LD920", "namespace-missing", "error", "A namespace given to `import-cluster` does not "
     "exist in the cluster.", "Check the name (`kubectl get namespaces`) and the context; pass "
     "the namespace the app runs in with `-n`."),
    ("LD921", "namespace-empty", "warning", "A namespace given to `import-cluster` holds no "
     "Service that selects a Deployment, so nothing in it can become a lane.", "Deploy the app "
     "there first, or pass the namespace it runs in with `-n`."),
    ("LD922", "service-without-selector", "warning", "A Service without a pod selector "
     "(ExternalName, headless or with hand-made endpoints) has no pods of its own to put in "
     "lanes; it is left out of the proposal.", "Nothing to do if the service is outside the "
     "app; otherwise give it a selector over its pods and import again."),
    ("LD923", "tcp-service-versions", "warning", "A service whose ports are all TCP (tcp, "
     "redis, mongo, ...) has versions in several lanes, but no header can pick a TCP "
     "service's version: the proposal keeps it in the baseline only.", "Leave it so (its "
     "baseline version serves every lane), or give the lane's version a Service of its own "
     "that the lane's callers call."),
    ("LD924", "no-lane-label", "error", "No Deployment behind the app's Services has the pod "
     "label that names lanes (`--label-key`), so there are no lanes to propose.", "Label each "
     "Deployment's pod template with its version (e.g. `version: v1`, and `version: v2` on "
     "the new copies), or pass `--label-key` with the label your versions carry (the message "
     "lists the keys found)."),
    # -- adopting a team's routing (services[].routing; docs/istio.md "A team's routing") ------
    ("LD940", "team-subset-unknown", "error", "A team route or default names a subset that "
     "neither a lane holding the service nor the team's subsets define: Envoy would answer "
     "503 (NC).", "Add the subset to `routing.subsets` (name and pod labels), or point the "
     "route at a lane's subset."),
    ("LD941", "team-subset-clash", "error", "A team subset has the name of a lane that holds "
     "the service, with other pod labels: one DestinationRule cannot hold both.",
     "Rename the team's subset (and its routes), or give the lane the team's labels."),
    ("LD942", "team-match-on-lane-header", "error", "A team route matches on the header that "
     "carries the lane (the route header, `baggage`, or the trace header): lanes set and "
     "rewrite it, so the team's route would change meaning.", "Match the team's route on "
     "another header, or drop it."),
    ("LD943", "team-header-ops-on-lane-header", "error", "Team route settings set, add or "
     "remove a header that carries the lane or that a team match tests: the lane or the "
     "team's matches further down would change meaning.", "Drop that header operation from "
     "the team's settings."),
    ("LD944", "team-routing-at-entry", "warning", "The entry service has team routes, a team "
     "default or settings: the gateway sends requests to its subset directly, so they apply "
     "only to calls from inside the mesh.", "Expected when the entry is also called from "
     "inside the mesh; otherwise move the settings onto the ingress."),
    ("LD945", "team-path-match", "warning", "A team route matches on the request path: the "
     "path an app calls is not in the design, so the simulator takes such a condition as "
     "not matched.", "Nothing to do if the path route is for other callers; the emitted "
     "objects keep it."),
    ("LD946", "team-weighted-route", "info", "A team route or default splits traffic by "
     "weight: the simulator follows the largest share (the first on a tie) and names the "
     "split on the hop.", "Nothing to do; the emitted objects keep the weights."),
    ("LD947", "team-routing-invalid", "error", "A team route or subset Istio would refuse or "
     "misread: no match, an empty match block, no destination, several destinations without "
     "weights (or weights summing to 0), a missing name, or routing on a TCP-only service.",
     "Fix the route as the message says (Istio's HTTPRoute rules)."),
    ("LD948", "team-routing-target", "error", "The target cannot carry (this part of) a "
     "team's routing: ASM carries a service's settings and traffic policy (its "
     "`httpRoutePatch` and `trafficPolicyPatch`) but not the team's match routes, a default "
     "other than the baseline's subset, other subsets or a subset's own policy; the Gateway "
     "API target carries none of it yet. Exporting would drop it.", "Export with `--target "
     "istio`, or remove what the message names from the service's `routing`."),
    ("LD950", "adopt-delegate", "error", "A team VirtualService delegates routes to another "
     "VirtualService: lanes cannot be merged into a delegate chain.", "Inline the delegate's "
     "routes into the root VirtualService, then adopt it."),
    ("LD951", "adopt-tcp-tls", "error", "A team VirtualService has `tcp` or `tls` routes: a "
     "header cannot pick a version there, and lanedesign keeps HTTP routes only.",
     "Leave the service out of the design, or split the TCP/TLS routes into their own "
     "VirtualService for another host."),
    ("LD952", "adopt-export-to", "error", "A team VirtualService or DestinationRule is "
     "exported to some namespaces only (`exportTo` other than `*` or `.`): lanedesign's "
     "objects are visible to every namespace, which would widen it.", "Drop `exportTo` (or "
     "use `*`), then adopt."),
    ("LD953", "adopt-several-hosts", "error", "A team VirtualService routes several hosts (or "
     "a gateway and the mesh): its routes apply to each, and one service's routing cannot "
     "hold that exactly.", "Split it into one VirtualService per host, then adopt."),
    ("LD954", "adopt-match-unsupported", "error", "A team match tests something the design "
     "cannot hold (queryParams, method, sourceLabels, withoutHeaders, port, authority, "
     "scheme, ignoreUriCase, gateways, sourceNamespace): adopting it would change which "
     "requests match.", "Rewrite the match on uri and headers, or leave the service out."),
    ("LD955", "adopt-route-unsupported", "error", "A team route sends requests elsewhere than "
     "a subset of its own host (another host, redirect, directResponse), or has a field "
     "lanedesign does not keep.", "Leave the service out of the design, or change the route."),
    ("LD956", "adopt-whole-service", "info", "A team's catch-all route sends requests to the "
     "whole service (no subset): after adoption the baseline's subset takes them.",
     "Expected: the baseline's pods are the service's only version outside the lanes."),
    ("LD957", "adopt-no-catch-all", "warning", "A team VirtualService has no catch-all route: "
     "requests matching none of its routes got 404 (NR); after adoption they reach the "
     "baseline's subset.", "Add a catch-all route to the team's object if 404 was meant."),
    ("LD958", "adopt-gateway-route", "error", "A team VirtualService on the design's ingress "
     "gateway (for the ingress hosts) does more than the design's ingress can hold: another "
     "destination than the entry service (a subset, another port, several services, weights), "
     "route settings (rewrite, timeout, headers, redirect), a match on more than the path, "
     "other hosts or gateways, `exportTo`, a weighted ingress, or ingress rules that test "
     "another path. The ingress is left as it was.", "Keep the team's gateway route out of "
     "the design's gateway (another gateway or host), or reduce it to path matches to the "
     "entry service, then adopt."),
    ("LD959", "adopt-gateway-paths", "info", "A team VirtualService on the design's ingress "
     "gateway was read into the ingress: every ingress rule (and the default, as a last "
     "rule) also tests the paths it served, so other paths still get 404; a route for every "
     "path changes nothing.", "Nothing to do; the lanes' gateway route keeps the team's "
     "paths."),
    # -- Istio ambient on the cluster: waypoints, enrolment, metrics (LD960-LD969) ---------
    ("LD960", "ambient-mixed", "warning", "`import-cluster`: the namespace is enrolled in "
     "ambient but its Services are not all behind the same waypoint (some labelled "
     "`istio.io/use-waypoint`, some not, or different waypoints), so the proposed design's "
     "`waypoint` fits only some of them.", "Label the namespace (or every lane Service) with "
     "`istio.io/use-waypoint`, or let the export label them (`waypoint.create`)."),
    ("LD961", "ambient-no-waypoint", "warning", "In an ambient namespace a lane-routed service "
     "has no waypoint: neither its Service nor its namespace is labelled "
     "`istio.io/use-waypoint` (after the design's own objects are applied). ztunnel only "
     "forwards L4, so the lanes' HTTPRoutes are never applied there: the lane silently does "
     "not route and requests reach every version's pods behind the Service.", "Export with "
     "`dataPlane: ambient` (the gateway-api target labels the namespace or Service), or label "
     "it: `kubectl label namespace NS istio.io/use-waypoint=waypoint`."),
    ("LD962", "ambient-waypoint-missing", "warning", "A lane-routed service names a waypoint "
     "(`istio.io/use-waypoint`) that is neither in the cluster nor emitted by the design: "
     "its traffic has no L7 proxy and the lanes do not route there.", "Create the waypoint "
     "(`waypoint.create: true`, or `istioctl waypoint apply -n NS`), or name an existing "
     "one."),
    ("LD963", "ambient-namespace-not-enrolled", "warning", "The design targets ambient "
     "(`dataPlane: ambient`) but the namespace is not labelled "
     "`istio.io/dataplane-mode=ambient`: its pods are not captured by ztunnel and never reach "
     "a waypoint (with sidecars they are routed by them; without, not at all).",
     "`kubectl label namespace NS istio.io/dataplane-mode=ambient`, or design for sidecars "
     "(`dataPlane: sidecar`)."),
    ("LD964", "ambient-namespace-sidecar-design", "warning", "The design targets sidecars "
     "(`dataPlane: sidecar`, the default) but the namespace is enrolled in ambient "
     "(`istio.io/dataplane-mode=ambient`): without waypoints no L7 route applies there.",
     "Set `dataPlane: ambient` and export with `--target gateway-api`, or take the namespace "
     "out of ambient."),
    ("LD965", "envoyfilter-on-waypoint", "warning", "The istio target's EnvoyFilter (the Lua "
     "baggage or trace filter) goes to an ambient namespace: Istio does not apply "
     "EnvoyFilters to waypoints, so the lane context is not set or carried there.",
     "Export with `--target gateway-api` for ambient (the apps propagate the header or "
     "baggage member themselves)."),
    ("LD966", "ambient-l4-only", "info", "`observe`: the service is in ambient with no "
     "waypoint reporting for it; ztunnel reports only L4 (`istio_tcp_*`), so which version a "
     "lane reached cannot be seen there.", "Put the service behind a waypoint "
     "(`istio.io/use-waypoint`) to observe its requests."),
)


def make(code: str, path: str, message: str, hint: str | None = None) -> Finding:
    """A finding of ``code`` with its catalogue severity and (unless given) generic fix."""
    info = CATALOGUE[code]
    return Finding(code, info.severity, path, message, hint or info.fix)


def has_errors(findings: list[Finding] | tuple[Finding, ...]) -> bool:
    return any(f.severity == "error" for f in findings)


def catalogue_markdown() -> str:
    """The code table for ``docs/findings.md``."""
    lines = [
        "# Validation findings",
        "",
        "Generated from `lanedesign/findings.py` (a test keeps it in step). Every finding "
        "carries `code`, `severity`, `path`, `message` and `hint`; codes never change meaning.",
        "",
        "| code | name | severity | meaning | how to fix |",
        "|---|---|---|---|---|",
    ]
    for info in CATALOGUE.values():
        lines.append(
            f"| {info.code} | {info.name} | {info.severity} | {info.meaning} | {info.fix} |"
        )
    return "\n".join(lines) + "\n"
