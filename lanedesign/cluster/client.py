"""The connection to one Kubernetes API server: the only module here that speaks HTTP.

Built on the official ``kubernetes`` client for what it does well (auth plugins, TLS,
proxies; ``config.py`` loads the kubeconfig or in-cluster config). Requests go through its
``ApiClient`` directly because its typed methods drop bodies they did not expect
(kubernetes 37 only deserialises ``create_*`` 201 answers and ``patch_*`` 200 ones, while a
server-side apply that creates answers 201). Every failure becomes a typed
``ClusterError``; nothing here prints.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import urllib3
from kubernetes import client as k8s_client

from ..emit.registry import install_hints
from .errors import ApiError, TargetNotServed, Unreachable, redact

FIELD_MANAGER = "lanedesign"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
# requests in flight at once when diffing and within an apply phase: enough to hide the round
# trip, few enough not to crowd an API server's fair share (priority and fairness)
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True)
class Resource:
    """A served resource type, as discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of the collection (or of one object when ``name`` is given)."""
        path = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            path += f"/namespaces/{quote(namespace, safe='')}"
        path += f"/{self.plural}"
        return path + (f"/{quote(name, safe='')}" if name else "")


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Which object: kind, apiVersion, namespace (``None`` when cluster-scoped), name."""

    kind: str
    namespace: str | None
    name: str
    api_version: str

    @classmethod
    def of(cls, obj: dict) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(obj.get("kind", ""), meta.get("namespace"), meta.get("name", ""),
                   obj.get("apiVersion", ""))

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def to_dict(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind,
                "namespace": self.namespace, "name": self.name}


class Cluster:
    """A connection to one API server: discovery, get/list, server-side apply, delete."""

    def __init__(self, api_client: k8s_client.ApiClient, context: str | None = None,
                 secrets: Iterable[str] = (), timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 ) -> None:
        self._api = api_client
        self.context = context
        self.server = _without_userinfo(api_client.configuration.host)
        self._secrets = frozenset(secrets) | _configuration_secrets(api_client.configuration)
        self._timeout = timeout
        self._discovered: dict[str, dict[str, Resource]] = {}
        self._sleep: Callable[[float], None] = time.sleep  # tests replace it

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()

    def __repr__(self) -> str:
        return f"Cluster(context={self.context!r}, server={self.server!r})"

    def describe(self) -> dict[str, str | None]:
        """Where this connection points (no credentials): for reports."""
        return {"context": self.context, "server": self.server}

    # -- HTTP ------------------------------------------------------------------------------
    def request(self, method: str, path: str, query: Iterable[tuple[str, str]] = (),
                body: Any = None, content_type: str | None = None,
                target: str | None = None) -> Any:
        """One API call; the decoded JSON answer, or a typed error.

        A 429 with ``Retry-After`` is retried after that many seconds, as client-go does: the
        server did nothing (priority and fairness shed the load, or a CRD's storage was still
        starting, which a real kube-apiserver answers for a moment after the CRD is created).
        """
        query = list(query)
        for attempt in range(_RETRIES_429 + 1):
            try:
                return self._request_once(method, path, query, body, content_type, target)
            except _TooManyRequests as busy:
                if attempt == _RETRIES_429:
                    raise busy.error from None
                self._sleep(busy.seconds)
        raise AssertionError("unreachable")

    def _request_once(self, method: str, path: str, query: list[tuple[str, str]], body: Any,
                      content_type: str | None, target: str | None) -> Any:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            prepared = self._api.param_serialize(
                method, path, query_params=list(query), header_params=headers, body=body,
                auth_settings=["BearerToken"])
            response = self._api.call_api(*prepared, _request_timeout=self._timeout)
            response.read()
        except urllib3.exceptions.HTTPError as exc:
            raise Unreachable(
                f"cannot reach the Kubernetes API server at {self.server}: "
                f"{self._redact(_network_reason(exc))}",
                "Check that the cluster is up and reachable from here (VPN, proxy), and "
                "that --context/--kubeconfig point at it.") from None
        except k8s_client.ApiException as exc:  # the REST layer raises some statuses itself
            error = self._error(exc.status or 0, exc.reason or "", exc.body, target)
            _raise_if_busy(error, exc.headers)
            raise error from None
        if not 200 <= response.status < 300:
            error = self._error(response.status, response.reason or "", response.data, target)
            _raise_if_busy(error, response.getheaders())
            raise error
        return json.loads(response.data) if response.data else None

    def _error(self, status: int, reason: str, body: Any, target: str | None) -> ApiError:
        message, kind = reason, reason
        try:
            doc = json.loads(body) if body else {}
            message = doc.get("message") or message
            kind = doc.get("reason") or kind
        except (TypeError, ValueError):
            pass
        return ApiError(status, self._redact(kind or f"HTTP {status}"),
                        self._redact(message or f"HTTP {status}"),
                        _status_hint(status, self.context), target)

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # -- discovery ---------------------------------------------------------------------------
    def served_versions(self, group: str) -> list[str]:
        """The versions of API ``group`` the server serves (empty when none)."""
        try:
            doc = self.request("GET", f"/apis/{group}" if group else "/api")
        except ApiError as exc:
            if exc.status == 404:
                return []
            raise
        if not group:  # the core group (Services): /api lists its versions as plain names
            return [str(v) for v in doc.get("versions", [])]
        return [v["version"] for v in doc.get("versions", [])]

    def resources(self, api_version: str) -> dict[str, Resource]:
        """Kind -> resource for one ``group/version`` (empty when not served); cached."""
        if api_version not in self._discovered:
            group, _, version = api_version.rpartition("/")
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                doc = self.request("GET", path)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                doc = {}
            self._discovered[api_version] = {
                r["kind"]: Resource(group, version, r["name"], r["kind"],
                                    bool(r.get("namespaced")))
                for r in doc.get("resources", []) if "/" not in r["name"]  # not subresources
            }
        return self._discovered[api_version]

    def resource(self, api_version: str, kind: str) -> Resource | None:
        return self.resources(api_version).get(kind)

    def require(self, kinds: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Resource]:
        """The resources for (apiVersion, kind) pairs, or ``TargetNotServed`` naming all gaps."""
        found, missing = {}, []
        for api_version, kind in dict.fromkeys(kinds):
            res = self.resource(api_version, kind)
            if res is None:
                missing.append((api_version, kind))
            else:
                found[(api_version, kind)] = res
        if missing:
            raise self._not_served(missing)
        return found

    def _not_served(self, missing: list[tuple[str, str]]) -> TargetNotServed:
        groups = sorted({api.rpartition("/")[0] for api, _ in missing})
        served = {group: self.served_versions(group) for group in groups}
        wanted = ", ".join(f"{api} {kind}" for api, kind in missing)
        have = "; ".join(f"{g} {', '.join(v)}" if v else f"no {g} at all"
                         for g, v in served.items())
        hints = install_hints()
        hint = " ".join(hints.get(g, f"Install the CRDs of {g}.") for g in groups)
        return TargetNotServed(f"the cluster does not serve {wanted} (it has {have})", hint,
                               [f"{api}/{kind}" for api, kind in missing], served)

    # -- objects ---------------------------------------------------------------------------
    def _resource_of(self, ref: ObjectRef) -> Resource:
        res = self.require([(ref.api_version, ref.kind)])[(ref.api_version, ref.kind)]
        if res.namespaced and not ref.namespace:  # else the path would address every namespace
            raise ValueError(f"{ref} is namespaced but names no namespace")
        return res

    def get(self, ref: ObjectRef) -> dict | None:
        """The live object, or ``None`` when it does not exist."""
        res = self._resource_of(ref)
        try:
            return self.request("GET", res.path(ref.namespace, ref.name), target=str(ref))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, res: Resource, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict]:
        """Objects of ``res`` (in every namespace unless ``namespace``), each with its kind."""
        query = [("labelSelector", label_selector)] if label_selector else []
        doc = self.request("GET", res.path(namespace), query, target=res.plural)
        items = doc.get("items") or []
        for item in items:  # list items come without kind/apiVersion from some servers
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", res.kind)
        return items

    def apply(self, obj: dict, dry_run: bool = False, force: bool = False,
              manager: str = FIELD_MANAGER) -> dict:
        """Server-side apply ``obj`` as field manager ``manager`` (``lanedesign``, or a team's
        own name when handing its object back); the resulting object."""
        ref = ObjectRef.of(obj)
        res = self._resource_of(ref)
        query = [("fieldManager", manager)]
        if dry_run:
            query.append(("dryRun", "All"))
        if force:
            query.append(("force", "true"))
        return self.request("PATCH", res.path(ref.namespace, ref.name), query, obj,
                            "application/apply-patch+yaml", target=str(ref))

    def delete(self, ref: ObjectRef, dry_run: bool = False, uid: str | None = None,
               resource_version: str | None = None) -> None:
        """Delete ``ref``; the preconditions make it fail (409) if the object changed."""
        res = self._resource_of(ref)
        preconditions = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version))
                         if v}
        # kube-apiserver takes a DELETE's options from the body when there is one and then
        # ignores the query's dryRun: it must be in the body (and stays in the query for logs)
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background",
                **({"preconditions": preconditions} if preconditions else {}),
                **({"dryRun": ["All"]} if dry_run else {})}
        query = [("dryRun", "All")] if dry_run else []
        self.request("DELETE", res.path(ref.namespace, ref.name), query, body,
                     "application/json", target=str(ref))


_RETRIES_429 = 5
_MAX_RETRY_AFTER = 10.0


class _TooManyRequests(Exception):
    def __init__(self, error: ApiError, seconds: float) -> None:
        super().__init__(str(error))
        self.error, self.seconds = error, seconds


def _raise_if_busy(error: ApiError, headers: Any) -> None:
    """A 429 that says when to come back becomes a retry (at most ``_MAX_RETRY_AFTER`` s)."""
    if error.status != 429 or not headers:
        return
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is not None:
        raise _TooManyRequests(error, min(max(seconds, 0.0), _MAX_RETRY_AFTER))


def _configuration_secrets(configuration: k8s_client.Configuration) -> set[str]:
    found = {configuration.password or ""}
    for value in (configuration.api_key or {}).values():
        if isinstance(value, str):
            found |= {value, value.rpartition(" ")[2]}
    return {s for s in found if s}


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)


def _network_reason(exc: Exception) -> str:
    """A short reason from a urllib3 error: 'connection refused', 'timed out', ..."""
    reason = getattr(exc, "reason", None) or exc
    text = re.sub(r"^.*?(?:<[^>]*>|\([^)]*\)):\s*", "", str(reason))  # drop the pool's repr
    text = text.replace("Failed to establish a new connection: ", "").strip("'\" ")
    errors = urllib3.exceptions
    if isinstance(reason, errors.SSLError):
        return f"TLS failed ({text})"
    if isinstance(reason, errors.NewConnectionError):  # a ConnectTimeoutError subclass
        return text
    if isinstance(reason, errors.ConnectTimeoutError):
        return "the connection timed out"
    if isinstance(reason, errors.ReadTimeoutError):
        return "no answer in time (read timeout)"
    return text


def _status_hint(status: int, context: str | None) -> str:
    if status == 401:
        return (f"The API server rejected the credentials of context {context!r}: log in "
                "again or refresh the token.")
    if status == 403:
        return "Your user lacks the RBAC permission for this request; ask a cluster admin."
    if status == 409:
        return ("Another field manager owns these fields, or the object changed meanwhile: "
                "review the diff, then re-run (with --force-conflicts to take fields over).")
    if status in (400, 422):
        return ("The API server rejected the object; check the manifest (`lanedesign export`) "
                "against the installed CRD version.")
    if status >= 500:
        return "The API server failed; retry in a moment."
    return ""
