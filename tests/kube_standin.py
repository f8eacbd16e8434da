"""A stand-in Kubernetes API server for tests: kmock's emulator taught what lanedesign relies on.

No real kube-apiserver can be installed here (``tooling.md`` §4), so the cluster tests talk
real HTTP on 127.0.0.1 to ``kmock.KubernetesEmulator`` with the apiserver behaviour kmock 0.8
lacks, written after the Kubernetes API docs ("Server-Side Apply", "API concepts"):

- server-side apply (``PATCH`` ``application/apply-patch+yaml``): create-if-missing (201),
  ``managedFields`` per field manager (``FieldsV1``, lists atomic as in Istio's CRDs), fields
  a manager stops applying are removed, a changed value owned by another manager is a 409
  conflict unless ``force=true``; a no-op apply changes nothing (same ``resourceVersion``);
- merge-patch and create as ``Update`` operations that take over the fields they change;
- ``dryRun=All`` on every write: the answer as if written, nothing stored;
- ``labelSelector`` on lists (``=``, ``==``, ``!=``, ``in``, ``notin``, exists, ``!``),
  List ``kind``/``apiVersion``, uid/resourceVersion/generation/creationTimestamp;
- delete preconditions (uid, resourceVersion) -> 409; an optional bearer token -> 401;
- writes into a namespace that does not exist -> 404 (``namespaces``; ``add`` makes them).

Everything else (discovery, routing, the request log, reactions such as failure injection)
is kmock's own. ``serve()`` runs the server in a background thread for the sync client.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import pathlib
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import attrs
import kmock
import yaml
from kmock._internal import apps, k8s

ISTIO = (
    ("networking.istio.io", "v1", "destinationrules", "DestinationRule"),
    ("networking.istio.io", "v1", "virtualservices", "VirtualService"),
    ("networking.istio.io", "v1alpha3", "envoyfilters", "EnvoyFilter"),
)
ISTIO_OLD = (  # an Istio before 1.22: no networking.istio.io/v1
    ("networking.istio.io", "v1beta1", "destinationrules", "DestinationRule"),
    ("networking.istio.io", "v1beta1", "virtualservices", "VirtualService"),
    ("networking.istio.io", "v1alpha3", "envoyfilters", "EnvoyFilter"),
)
ASM = (
    ("istio.alibabacloud.com", "v1", "asmswimlanegroups", "ASMSwimLaneGroup"),
    ("istio.alibabacloud.com", "v1", "asmswimlanes", "ASMSwimLane"),
)
CORE = (
    ("", "v1", "services", "Service"),
    ("apps", "v1", "deployments", "Deployment"),
    ("", "v1", "namespaces", "Namespace"),  # read only, from ``namespaces``
)
GATEWAYS = (  # what a mesh's ingress is made of: Istio's Gateway and the Gateway API's kinds
    ("networking.istio.io", "v1", "gateways", "Gateway"),
    ("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute"),
    ("gateway.networking.k8s.io", "v1", "gateways", "Gateway"),
)
CLUSTER_SCOPED = {"ASMSwimLaneGroup", "ASMSwimLane", "Namespace"}
VERBS = {"get", "list", "create", "patch", "update", "delete", "watch"}

Path = tuple[str, ...]
_MISSING = object()


def status_error(code: int, reason: str, message: str, **details: Any) -> k8s.KubernetesError:
    """A ``Status`` failure as the apiserver sends it (details never empty: kmock would add a
    traceback)."""
    return k8s.KubernetesError(status=code, reason=reason, message=message,
                               details=details or {"causes": []})


# ---------------------------------------------------------------------------------------------
# managed fields: sets of paths <-> FieldsV1, ownership, conflicts
# ---------------------------------------------------------------------------------------------
def field_paths(obj: dict) -> set[Path]:
    """Leaf paths a manager sets with ``obj``: maps are walked, lists and scalars are leaves.

    Identity (apiVersion, kind, name, namespace) and server-owned metadata are not fields.
    """
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
    meta = {k: v for k, v in body.get("metadata", {}).items() if k in ("labels", "annotations")}
    body["metadata"] = meta
    paths: set[Path] = set()

    def walk(value: Any, path: Path) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, (*path, key))
        elif path and not (path == ("metadata",) and value == {}):
            paths.add(path)

    walk(body, ())
    return paths


def to_fields_v1(paths: set[Path]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


def from_fields_v1(tree: dict, prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, sub in tree.items():
        path = (*prefix, key[2:])
        paths |= from_fields_v1(sub, path) if sub else {path}
    return paths


def get_path(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def set_path(obj: dict, path: Path, value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(obj.get(key), dict):
            obj[key] = {}
        obj = obj[key]
    obj[path[-1]] = copy.deepcopy(value)


def del_path(obj: dict, path: Path) -> None:
    """Remove ``path``, then the maps it leaves empty (below the top level)."""
    parents = []
    node = obj
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            return
        parents.append((node, key))
        node = node[key]
    node.pop(path[-1], None)
    for parent, key in reversed(parents[1:]):
        if parent[key]:
            break
        del parent[key]


def dotted(path: Path) -> str:
    return "".join(f".{key}" for key in path)


def owners(obj: dict) -> dict[tuple[str, str], set[Path]]:
    """(manager, operation) -> the paths it owns, from ``metadata.managedFields``."""
    result: dict[tuple[str, str], set[Path]] = {}
    for entry in obj.get("metadata", {}).get("managedFields", []):
        key = (entry["manager"], entry["operation"])
        result[key] = result.get(key, set()) | from_fields_v1(entry.get("fieldsV1", {}))
    return result


def conflicts(live: dict, applied: dict, manager: str, paths: set[Path]) -> list[tuple[str, Path]]:
    """(other manager, path) pairs where applying ``paths`` would change a value it owns."""
    found = []
    for (other, operation), owned in owners(live).items():
        if (other, operation) == (manager, "Apply"):
            continue
        for mine in paths:
            for theirs in owned:
                shorter = mine if len(mine) <= len(theirs) else theirs
                if mine[: len(shorter)] != theirs[: len(shorter)]:
                    continue
                if get_path(live, shorter) != get_path(applied, shorter):
                    found.append((other, theirs))
    return sorted(set(found))


def _with_owners(obj: dict, table: dict[tuple[str, str], set[Path]], changed: set, now: str,
                 api_version: str) -> None:
    old = {(e["manager"], e["operation"]): e
           for e in obj.get("metadata", {}).get("managedFields", [])}
    entries = []
    for (manager, operation), paths in table.items():
        if not paths:
            continue
        previous = old.get((manager, operation))
        touched = (manager, operation) in changed or previous is None
        entries.append({
            "manager": manager, "operation": operation, "apiVersion": api_version,
            "time": now if touched else previous["time"], "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(paths),
        })
    obj.setdefault("metadata", {})["managedFields"] = entries


def server_side_apply(live: dict | None, applied: dict, manager: str, force: bool,
                      now: str) -> dict:
    """The object after ``manager`` applies ``applied`` (raises a 409 on conflicts)."""
    paths = field_paths(applied)
    base = copy.deepcopy(live) if live is not None else {
        "apiVersion": applied["apiVersion"], "kind": applied["kind"],
        "metadata": {k: applied["metadata"][k] for k in ("name", "namespace")
                     if k in applied["metadata"]},
    }
    table = owners(base)
    found = conflicts(base, applied, manager, paths) if live is not None else []
    if found and not force:
        causes = [{"type": "FieldManagerConflict", "field": dotted(path),
                   "message": f'conflict with "{other}": {dotted(path)}'} for other, path in found]
        raise status_error(
            409, "Conflict",
            f"Apply failed with {len(found)} conflict{'s' * (len(found) != 1)}: "
            + "; ".join(c["message"] for c in causes),
            causes=causes, name=applied["metadata"]["name"], kind=applied["kind"])
    changed = {(manager, "Apply")}
    for other, path in found:  # force: the other managers lose what they conflicted on
        for key, owned in table.items():
            if key[0] == other and path in owned:
                owned.discard(path)
                changed.add(key)
    previous = table.get((manager, "Apply"), set())
    for path in paths:
        set_path(base, path, get_path(applied, path))
    for path in previous - paths:
        shared = any(path in owned for key, owned in table.items() if key != (manager, "Apply"))
        if not shared:
            del_path(base, path)
    table[(manager, "Apply")] = paths
    _with_owners(base, table, changed, now, applied["apiVersion"])
    return base


def update(live: dict | None, new: dict, manager: str, now: str) -> dict:
    """An ``Update`` operation (create, merge-patch): the manager takes over what it changed."""
    result = copy.deepcopy(new)
    if live is not None:
        result["metadata"]["managedFields"] = copy.deepcopy(
            live.get("metadata", {}).get("managedFields", []))
    old_paths = field_paths(live) if live is not None else set()
    changed_paths = {p for p in field_paths(new) | old_paths
                     if live is None or get_path(live, p) != get_path(new, p)}
    table = owners(result)
    for key, owned in table.items():
        if key != (manager, "Update"):
            owned -= changed_paths
    mine = table.get((manager, "Update"), set())
    table[(manager, "Update")] = {p for p in mine | changed_paths
                                  if get_path(new, p) is not _MISSING}
    _with_owners(result, table, set(table), now, new["apiVersion"])
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------------------------------------
# label selectors
# ---------------------------------------------------------------------------------------------
_REQUIREMENT = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<absent>[\w./-]+)"
    r"|(?P<key>[\w./-]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[\w.-]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?)\s*(?:,|$)"
)


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Whether ``labels`` satisfy a Kubernetes label selector string."""
    pos = 0
    selector = selector.strip()
    while pos < len(selector):
        m = _REQUIREMENT.match(selector, pos)
        if m is None or m.end() == pos:
            raise status_error(400, "BadRequest", f"unable to parse requirement: {selector!r}")
        pos = m.end()
        if m["absent"]:
            ok = m["absent"] not in labels
        elif m["op"]:
            ok = labels.get(m["key"]) == m["value"] if m["op"] != "!=" \
                else labels.get(m["key"]) != m["value"]
        elif m["setop"]:
            values = {v.strip() for v in m["values"].split(",")}
            ok = (labels.get(m["key"]) in values) == (m["setop"] == "in") if m["key"] in labels \
                else m["setop"] == "notin"
        else:
            ok = m["key"] in labels
        if not ok:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One recorded request, reduced to what tests assert on."""

    method: str
    kind: str | None
    namespace: str | None
    name: str | None
    dry_run: bool
    content_type: str
    body: Any = field(default=None, compare=False, repr=False)
    status: int = field(default=0, compare=False)  # the answer's code (the real server's log)
    user: str = field(default="", compare=False)
    params: dict = field(default_factory=dict, compare=False, repr=False)  # the query

    @property
    def writes(self) -> bool:
        return (self.method in ("POST", "PUT", "PATCH", "DELETE") and not self.dry_run
                and self.status < 400)


@attrs.define(kw_only=True)
class KubeStandIn(kmock.KubernetesEmulator):
    """kmock's emulator with server-side apply, dry run, label selectors and auth."""

    token: str | None = None
    # a real apiserver refuses objects in a namespace that does not exist (404); these exist
    namespaces: set[str] = attrs.field(factory=lambda: {"default", "istio-system",
                                                        "kube-system"})
    _revision: int = attrs.field(default=0, init=False)

    def serve_kinds(self, *table: tuple[str, str, str, str]) -> KubeStandIn:
        """Declare resources for discovery: (group, version, plural, kind) rows."""
        for group, version, plural, kind in table:
            key = f"{group}/{version}/{plural}" if group else f"{version}/{plural}"
            self.resources[key] = kmock.ResourceInfo(
                kind=kind, namespaced=kind not in CLUSTER_SCOPED, verbs=VERBS)
        return self

    # -- requests ------------------------------------------------------------------------
    async def _handle(self, request: kmock.Request) -> Any:
        if self.token is not None and request.headers.get("Authorization") != \
                f"Bearer {self.token}":
            raise status_error(401, "Unauthorized", "Unauthorized")
        namespace = self._namespace_get(request)
        if namespace is not None:
            return await kmock.Response(payload=namespace)(request)
        # The emulator's own _handle merges every PATCH into the stored dict before any
        # reaction runs; our fallbacks below do the state changes instead, so skip it.
        return await apps.RawHandler._handle(self, request)

    def _namespace_get(self, request: kmock.Request) -> dict | None:
        """``GET /api/v1/namespaces/NAME`` (kmock reads NAME as a namespace, not an object):
        the namespace from ``namespaces``, or 404."""
        if str(request.method.value) != "GET" or request.resource is None or \
                request.resource.plural is not None or not request.namespace or \
                "Namespace" not in {r.kind for r in self.resources.values()}:
            return None
        if request.namespace not in self.namespaces:
            raise status_error(404, "NotFound", f'namespaces "{request.namespace}" not found',
                               name=request.namespace, kind="namespaces")
        return self._namespace_object(request.namespace)

    def calls(self) -> list[Call]:
        """The recorded requests so far, oldest first."""
        result = []
        for req in list(self._requests):
            kind = self._kind(req.resource) if req.resource is not None else None
            dry_run = (_delete_dry_run(req.data, req.params) if str(req.method.value) == "DELETE"
                       else req.params.get("dryRun") == "All")
            result.append(Call(str(req.method.value), kind, req.namespace, req.name, dry_run,
                               req.headers.get("Content-Type", ""), req.data,
                               params=dict(req.params)))
        return result

    def writes(self) -> list[Call]:
        return [c for c in self.calls() if c.writes]

    def forget_requests(self) -> None:
        """Empty the request log (between property-test examples sharing one server).

        kmock matches each request against its reactions by walking the whole log, so a
        request costs time in proportion to the log's length (measured: 9 ms with an empty
        log, 60 ms after 500 requests).
        """
        self._requests.clear()

    def fail(self, method: str, name: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` real (not dry-run) ``method`` requests for ``name`` with
        ``status``, before anything is stored (a kmock reaction)."""
        # kmock tests every past request against a filter too: only later ones may fail
        start, failed = len(self._requests), set()

        def matches(req: kmock.Request) -> bool:
            if req.id in failed:
                return True
            hit = (req.id >= start and len(failed) < times and req.name == name
                   and str(req.method.value) == method.upper()
                   and req.params.get("dryRun") != "All")
            if hit:
                failed.add(req.id)
            return hit

        self[matches] << status_error(status, "InternalError", f"injected failure for {name}")

    def _kind(self, resource: Any) -> str | None:
        for res in self.resources:
            if (res.group, res.version, res.plural) == \
                    (resource.group, resource.version, resource.plural):
                return self.resources[res].kind
        return None

    def _known(self, request: kmock.Request) -> str:
        kind = self._kind(request.resource)
        if kind is None:
            raise k8s.KubernetesResourceNotFoundError()
        return kind

    def _now(self) -> str:
        return datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _stored(self, request: kmock.Request, name: str | None = None) -> dict | None:
        key = (request.resource, request.namespace, name or request.name)
        if key in self.objects and not self.objects[key].deleted:
            return copy.deepcopy(self.objects[key].raw)
        return None

    def _not_found(self, request: kmock.Request) -> k8s.KubernetesError:
        plural = request.resource.plural
        group = request.resource.group
        what = f"{plural}.{group}" if group else plural
        return status_error(404, "NotFound", f'{what} "{request.name}" not found',
                            name=request.name, kind=plural)

    def _namespace_exists(self, request: kmock.Request) -> None:
        namespace = request.namespace
        if namespace and namespace not in self.namespaces:
            raise status_error(404, "NotFound", f'namespaces "{namespace}" not found',
                               name=namespace, kind="namespaces")

    def _store(self, request: kmock.Request, name: str, old: dict | None, new: dict) -> dict:
        """Write ``new`` unless it equals ``old``; stamp server metadata like the apiserver."""
        if old is not None and _same(old, new):
            return old
        dry_run = request.params.get("dryRun") == "All"
        meta = new.setdefault("metadata", {})
        if not dry_run:  # a dry run answers with the object as it would be, minus a new version
            self._revision += 1
            meta["resourceVersion"] = str(self._revision)
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = self._now()
            meta["generation"] = 1
        elif old.get("spec") != new.get("spec"):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        if dry_run:
            return new
        key = (request.resource, request.namespace, name)
        if key in self.objects:
            self.objects[key].create(new)
        else:
            self.objects[key] = new
        return new

    def add(self, obj: dict, manager: str = "kubectl-client-side-apply") -> None:
        """Store an object directly (test setup), owned by ``manager`` as an Update."""
        group, _, version = obj["apiVersion"].rpartition("/")
        plural = next(p for g, v, p, k in (*ISTIO, *ISTIO_OLD, *ASM, *CORE, *GATEWAYS)
                      if (g, v, k) == (group, version, obj["kind"]))
        request = kmock.Request(resource=kmock.resource(group, version, plural),
                                namespace=obj["metadata"].get("namespace"))
        if request.namespace:
            self.namespaces.add(request.namespace)
        self._store(request, obj["metadata"]["name"], None,
                    update(None, copy.deepcopy(obj), manager, self._now()))

    # -- the fallbacks that serve objects --------------------------------------------------
    def _namespace_object(self, name: str) -> dict:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
                "status": {"phase": "Active"}}

    async def _serve_fetch(self, request: kmock.Request) -> Any:
        self._known(request)
        obj = self._stored(request)
        if obj is None:
            raise self._not_found(request)
        return obj

    async def _serve_list(self, request: kmock.Request) -> Any:
        kind = self._known(request)
        selector = request.params.get("labelSelector", "")
        items = []
        for (resource, namespace, _name), stored in sorted(
                self.objects.items(), key=lambda kv: (kv[0][1] or "", kv[0][2])):
            if stored.deleted or resource != request.resource:
                continue
            if request.namespace is not None and namespace != request.namespace:
                continue
            if selector_matches(selector, stored.raw.get("metadata", {}).get("labels", {})):
                items.append(copy.deepcopy(stored.raw))
        group = request.resource.group
        return {"apiVersion": f"{group}/{request.resource.version}" if group else
                request.resource.version, "kind": f"{kind}List",
                "metadata": {"resourceVersion": str(self._revision)}, "items": items}

    async def _serve_create(self, request: kmock.Request) -> Any:
        self._known(request)
        self._namespace_exists(request)
        body = request.data or {}
        name = body.get("metadata", {}).get("name")
        if self._stored(request, name) is not None:
            raise status_error(409, "AlreadyExists", f'"{name}" already exists', name=name)
        if request.namespace:
            body["metadata"]["namespace"] = request.namespace
        manager = request.params.get("fieldManager", "unknown")
        new = self._store(request, name, None, update(None, body, manager, self._now()))
        return kmock.Response(status=201, payload=new)

    async def _serve_update(self, request: kmock.Request) -> Any:
        kind = self._known(request)
        self._namespace_exists(request)
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        body = request.data if request.data is not None else yaml.safe_load(request.text)
        old = self._stored(request)
        if content_type == "application/apply-patch+yaml":
            manager = request.params.get("fieldManager")
            if not manager:
                raise status_error(400, "BadRequest", "fieldManager: Required value: "
                                   "is required for apply patch")
            meta = body.get("metadata", {}) if isinstance(body, dict) else {}
            if meta.get("name") != request.name or body.get("kind") != kind:
                raise status_error(400, "BadRequest", "the name or kind of the object does not "
                                   "match the request URL")
            if request.namespace:
                meta["namespace"] = request.namespace
            force = request.params.get("force") == "true"
            new = server_side_apply(old, body, manager, force, self._now())
            stored = self._store(request, request.name, old, new)
            return kmock.Response(status=201 if old is None else 200, payload=stored)
        if content_type == "application/merge-patch+json":
            if old is None:
                raise self._not_found(request)
            manager = request.params.get("fieldManager", "unknown")
            new = update(old, merge_patch(old, body), manager, self._now())
            return self._store(request, request.name, old, new)
        raise status_error(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown format: {content_type}")

    async def _serve_delete(self, request: kmock.Request) -> Any:
        self._known(request)
        old = self._stored(request)
        if old is None:
            raise self._not_found(request)
        preconditions = (request.data or {}).get("preconditions") or {}
        for key in ("uid", "resourceVersion"):
            expected = preconditions.get(key)
            if expected is not None and expected != old["metadata"].get(key):
                raise status_error(
                    409, "Conflict", f"Precondition failed: {key} in precondition: "
                    f"{expected}, {key} in object meta: {old['metadata'].get(key)}")
        if not _delete_dry_run(request.data, request.params):
            self.objects[(request.resource, request.namespace, request.name)].delete()
        return old


def _delete_dry_run(body: Any, params: Any) -> bool:
    """kube-apiserver reads a DELETE's options from its body when it has one, and only
    otherwise from the query: ``?dryRun=All`` beside a DeleteOptions body without ``dryRun``
    deletes for real."""
    if body:
        return (body.get("dryRun") or []) == ["All"]
    return params.get("dryRun") == "All"


def _same(old: dict, new: dict) -> bool:
    """Equal apart from managedFields timestamps (the apiserver skips no-op writes)."""
    def strip(obj: dict) -> dict:
        copied = copy.deepcopy(obj)
        for entry in copied.get("metadata", {}).get("managedFields", []):
            entry.pop("time", None)
        return copied

    return strip(old) == strip(new)


# ---------------------------------------------------------------------------------------------
# serving from a background thread
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def serve(standin: KubeStandIn) -> Iterator[str]:
    """Serve ``standin`` on 127.0.0.1 from a background thread; yield its URL; stop on exit."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        box["stop"] = stop
        box["loop"] = asyncio.get_running_loop()
        try:
            async with standin, kmock.Server(standin) as server:
                box["url"] = str(server.url).rstrip("/")
                started.set()
                await stop.wait()
        except BaseException as exc:  # surfaced to the test below, never swallowed
            box["error"] = exc
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True,
                              name="kube-standin")
    thread.start()
    started.wait(timeout=30)
    if "url" not in box:
        raise RuntimeError(f"the stand-in API server did not start: {box.get('error')!r}")
    try:
        yield box["url"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(timeout=30)


def write_kubeconfig(folder: pathlib.Path, url: str, token: str | None = None,
                     context: str = "standin") -> pathlib.Path:
    """A kubeconfig file for the stand-in (``token``: a bearer-token user) in ``folder``."""
    user: dict[str, Any] = {"token": token} if token else {}
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "standin", "cluster": {"server": url}}],
        "users": [{"name": "tester", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "standin", "user": "tester"}},
                     {"name": "elsewhere", "context": {"cluster": "standin", "user": "tester"}}],
    }
    path = folder / "kubeconfig"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@dataclass
class Running:
    """A served stand-in: the server object, its URL and a kubeconfig pointing at it."""

    standin: KubeStandIn
    url: str
    kubeconfig: pathlib.Path


@contextlib.contextmanager
def running(folder: pathlib.Path, *kinds: tuple[str, str, str, str],
            token: str | None = None) -> Iterator[Running]:
    """Serve a stand-in declaring ``kinds``; write its kubeconfig into ``folder``."""
    standin = KubeStandIn(token=token).serve_kinds(*kinds)
    with serve(standin) as url:
        yield Running(standin, url, write_kubeconfig(folder, url, token))
