"""A real Kubernetes control plane for tests: etcd and kube-apiserver, built from source.

``tests/gotools.py`` builds both from the pinned wrapper modules in ``tests/go/`` (etcd
v3.6.8, kube-apiserver v1.36.1). :class:`ControlPlane` starts them on loopback in a temporary
folder: etcd with ``--unsafe-no-fsync`` (a throwaway store), the apiserver with TLS from a
throwaway CA, a static token file, RBAC authorization, a service-account signing key and an
audit log. Once ``/readyz`` answers it installs the CRDs lanedesign writes (Istio's own, a
permissive ASM pair, Gateway API's), the namespaces the tests use, and the RBAC of three
users:

- ``admin`` (group ``system:masters``): this module's own client, and the "second client"
  tests use to make objects with another field manager;
- ``tester``: the user of the kubeconfig lanedesign connects with, bound to ``cluster-admin``
  through RBAC;
- ``limited``: bound to :data:`LIMITED_RULES` (no EnvoyFilters, namespaces only), for 403s.

The audit log is how tests see what lanedesign sent (:meth:`ControlPlane.calls`): every
request of the ``tester`` user, its verb, object, dry-run flag and, for mesh writes, the object
the server stored. It is written in blocking mode, so an answered request is already in it.

``python tests/kube_real.py`` (``make kube``) runs the same control plane in the foreground
for people to try diff and apply without a cluster, until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import urllib3
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # gotools and the stand-in's Call when run as a script

from gotools import KUBE_VERSION, TOOLS, go_version  # noqa: E402
from kube_standin import Call  # noqa: E402

CONTEXT = "real"
FIELD_MANAGER = "lanedesign-tests"
# namespaces the tests and the examples put objects in (the apiserver makes `default` itself)
NAMESPACES = ("istio-system", "shop", "pay", "elsewhere")
# (group, version, plural, kind): the kinds tests write and reset between tests
KINDS = (
    ("networking.istio.io", "v1", "destinationrules", "DestinationRule"),
    ("networking.istio.io", "v1", "virtualservices", "VirtualService"),
    ("networking.istio.io", "v1alpha3", "envoyfilters", "EnvoyFilter"),
    ("networking.istio.io", "v1", "gateways", "Gateway"),
    ("istio.alibabacloud.com", "v1", "asmswimlanegroups", "ASMSwimLaneGroup"),
    ("istio.alibabacloud.com", "v1", "asmswimlanes", "ASMSwimLane"),
    ("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute"),
    ("gateway.networking.k8s.io", "v1", "gateways", "Gateway"),
    ("", "v1", "services", "Service"),
    ("apps", "v1", "deployments", "Deployment"),
)
CLUSTER_SCOPED = {"ASMSwimLaneGroup", "ASMSwimLane"}
# the apiserver's own `default/kubernetes` Service stays (it carries this label)
KEEP = "provider!=kubernetes"
# the limited user, in namespaces only: what lanedesign needs, but EnvoyFilters read-only
LIMITED_RULES = [
    {"apiGroups": ["networking.istio.io"], "resources": ["destinationrules", "virtualservices"],
     "verbs": ["get", "list", "create", "patch", "delete"]},
    {"apiGroups": ["networking.istio.io"], "resources": ["envoyfilters"],
     "verbs": ["get", "list"]},
    {"apiGroups": ["istio.alibabacloud.com"], "resources": ["*"], "verbs": ["*"]},
]
VERB_METHODS = {"create": "POST", "patch": "PATCH", "update": "PUT", "delete": "DELETE",
                "deletecollection": "DELETE", "get": "GET", "list": "GET", "watch": "GET"}

# No public schema exists for ASM's lane CRDs (Alibaba Cloud installs them with the ASM
# control plane; tooling.md): these are deliberately PERMISSIVE stand-ins for the tests, with
# the names, group, version and scope lanedesign relies on and any spec accepted.
ASM_CRDS = [
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": f"{plural}.istio.alibabacloud.com",
                  "annotations": {"lanedesign.io/note": "permissive test schema: no public "
                                  "schema exists for this ASM kind"}},
     "spec": {"group": "istio.alibabacloud.com", "scope": "Cluster",
              "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                        "listKind": f"{kind}List"},
              "versions": [{"name": "v1", "served": True, "storage": True,
                            "subresources": {"status": {}},
                            "schema": {"openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {"type": "object",
                                             "x-kubernetes-preserve-unknown-fields": True},
                                    "status": {"type": "object",
                                               "x-kubernetes-preserve-unknown-fields": True},
                                }}}}]}}
    for kind, plural in (("ASMSwimLaneGroup", "asmswimlanegroups"),
                         ("ASMSwimLane", "asmswimlanes"))
]

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy",
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [
        # only the clients under test; the apiserver's own loops and the admin stay out
        {"level": "None", "userGroups": ["system:masters"]},
        {"level": "None", "users": ["system:apiserver", "system:kube-proxy"]},
        {"level": "RequestResponse", "verbs": ["create", "patch", "update", "delete"],
         "resources": [{"group": "networking.istio.io"}, {"group": "istio.alibabacloud.com"}]},
        {"level": "Metadata"},
    ],
}


class ControlPlaneError(RuntimeError):
    """The control plane did not come up; the message ends with the logs' tails."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# certificates and keys (a throwaway CA; EC keys are fast to make)
# ---------------------------------------------------------------------------------------------
def write_pki(folder: Path) -> dict[str, Path]:
    """A CA, a serving certificate for 127.0.0.1/localhost, a service-account key pair."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(tz=datetime.timezone.utc)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("lanedesign-test-ca"))
          .issuer_name(name("lanedesign-test-ca")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("kube-apiserver"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName("kubernetes.default.svc"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    sa_key = ec.generate_private_key(ec.SECP256R1())
    files = {
        "ca": (folder / "ca.crt", ca.public_bytes(serialization.Encoding.PEM)),
        "cert": (folder / "apiserver.crt", cert.public_bytes(serialization.Encoding.PEM)),
        "key": (folder / "apiserver.key", pem_key(key)),
        "sa_key": (folder / "sa.key", pem_key(sa_key)),
        "sa_pub": (folder / "sa.pub", sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)),
    }
    for path, data in files.values():
        path.write_bytes(data)
        path.chmod(0o600)
    return {k: path for k, (path, _) in files.items()}


# ---------------------------------------------------------------------------------------------
# the control plane
# ---------------------------------------------------------------------------------------------
@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM the process group, then SIGKILL what is left."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL it when the process that started it dies,
    so that a killed pytest or `make kube` leaves no etcd or kube-apiserver behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ControlPlane:
    """etcd + kube-apiserver in ``folder``: :meth:`start`, use, :meth:`stop` (or ``with``)."""

    def __init__(self, folder: Path, etcd: Path, apiserver: Path,
                 crd_files: Iterable[Path] = (), audit: str | None = "RequestResponse",
                 ) -> None:
        """``audit``: the level mesh writes are logged at (``Metadata`` keeps no bodies, for
        counting requests at scale; ``None``: no audit log)."""
        self.folder = Path(folder)
        self.etcd_bin, self.apiserver_bin = etcd, apiserver
        self.crd_files = tuple(crd_files)
        self.audit = audit
        self.tokens = {user: secrets.token_urlsafe(24) for user in ("admin", "tester", "limited")}
        self.port = 0
        self.processes: list[Process] = []
        self.pki: dict[str, Path] = {}
        self.audit_log = self.folder / "audit.log"
        self._pool: urllib3.PoolManager | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> ControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pki = write_pki(self.folder)
        etcd_port, peer_port, self.port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._spawn("etcd", [
            str(self.etcd_bin), "--name", "lanedesign-test",
            "--data-dir", str(self.folder / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"lanedesign-test=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync", "--log-level", "warn"])
        tokens = self.folder / "tokens.csv"
        tokens.write_text(
            f'{self.tokens["admin"]},admin,admin,"system:masters"\n'
            f'{self.tokens["tester"]},tester,tester\n'
            f'{self.tokens["limited"]},limited,limited\n', encoding="utf-8")
        tokens.chmod(0o600)
        args = [
            str(self.apiserver_bin), "--etcd-servers", etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.port),
            "--tls-cert-file", str(self.pki["cert"]),
            "--tls-private-key-file", str(self.pki["key"]),
            "--cert-dir", str(self.folder / "certs"),
            "--token-auth-file", str(tokens),
            "--authorization-mode", "RBAC",
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", str(self.pki["sa_pub"]),
            "--service-account-signing-key-file", str(self.pki["sa_key"]),
            "--service-cluster-ip-range", "10.96.0.0/24",
            "--profiling=false", "--v=1",
        ]
        if self.audit:
            policy = self.folder / "audit-policy.yaml"
            rules = [dict(rule) for rule in AUDIT_POLICY["rules"]]
            rules[2]["level"] = self.audit
            policy.write_text(yaml.safe_dump({**AUDIT_POLICY, "rules": rules}),
                              encoding="utf-8")
            args += ["--audit-policy-file", str(policy), "--audit-log-path", str(self.audit_log),
                     "--audit-log-mode", "blocking", "--audit-log-format", "json",
                     "--audit-log-maxsize", "0"]
        self._spawn("kube-apiserver", args)
        self._wait_ready(timeout)
        self._bootstrap()

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            # a process group of its own: stop() ends it and anything it started
            popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self.processes.append(Process(name, popen, log))

    def _failed(self, why: str) -> ControlPlaneError:
        return ControlPlaneError(why + "\n" + "\n".join(p.tail() for p in self.processes))

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for proc in self.processes:
                if proc.popen.poll() is not None:
                    raise self._failed(f"{proc.name} exited with {proc.popen.returncode}")
            try:
                if self.request("GET", "/readyz", raw=True) == b"ok":
                    return
            except (urllib3.exceptions.HTTPError, ControlPlaneError):
                pass
            if time.monotonic() > deadline:
                raise self._failed(f"kube-apiserver not ready after {timeout:g} s")
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop the apiserver, then etcd (each as a process group); safe to call twice."""
        for proc in reversed(self.processes):
            proc.stop()

    # -- the admin client --------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, query: Iterable = (),
                content_type: str = "application/json", user: str = "admin",
                raw: bool = False) -> Any:
        """One API call as ``user``; the decoded answer (``ControlPlaneError`` on >= 400)."""
        url = self.url + path + (f"?{urlencode(list(query))}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "Accept": "application/json",
                   **({"Content-Type": content_type} if data is not None else {})}
        if self._pool is None:  # kept-alive TLS connections, shared by threads
            self._pool = urllib3.PoolManager(maxsize=8, ca_certs=str(self.pki["ca"]),
                                             cert_reqs="CERT_REQUIRED")
        answer = self._pool.request(method, url, body=data, headers=headers,
                                    timeout=urllib3.Timeout(connect=5, read=60), retries=False)
        payload = answer.data
        if answer.status >= 400:
            error = ControlPlaneError(f"{method} {path}: {answer.status} {payload[:500]!r}")
            error.status = answer.status  # type: ignore[attr-defined]
            raise error
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def apply(self, obj: dict, manager: str = FIELD_MANAGER, user: str = "admin") -> dict:
        """Server-side apply ``obj`` (forced) as ``manager``."""
        return self.request("PATCH", object_path(obj), obj,
                            [("fieldManager", manager), ("force", "true")],
                            "application/apply-patch+yaml", user)

    def create(self, obj: dict, manager: str = "kubectl-client-side-apply") -> dict:
        """Create ``obj`` as an ``Update`` by ``manager``, the way a second client would."""
        return self.request("POST", object_path(obj, with_name=False), obj,
                            [("fieldManager", manager)])

    def ensure_namespace(self, name: str) -> None:
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def get(self, obj_or_path: dict | str) -> dict | None:
        path = obj_or_path if isinstance(obj_or_path, str) else object_path(obj_or_path)
        try:
            return self.request("GET", path)
        except ControlPlaneError as exc:
            if getattr(exc, "status", 0) == 404:
                return None
            raise

    def _bootstrap(self) -> None:
        for ns in NAMESPACES:
            self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": "tester-cluster-admin"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                "kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                  "name": "tester"}]})
        self.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "lanedesign-limited"}, "rules": LIMITED_RULES})
        for ns in ("default", *NAMESPACES):  # namespaced rights only: no cluster-wide list
            self.apply(role_binding("limited", ns, "lanedesign-limited", "limited"))
        crds = list(ASM_CRDS)
        for path in self.crd_files:
            crds += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                     if doc and doc.get("kind") == "CustomResourceDefinition"]
        for crd in crds:
            self.apply(crd)
        self._wait_served(crds)

    def _wait_served(self, crds: list[dict], timeout: float = 60) -> None:
        """Until every CRD is Established and its versions answer discovery."""
        deadline = time.monotonic() + timeout
        for crd in crds:
            name = crd["metadata"]["name"]
            while True:
                live = self.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                # a CRD just created may answer with `status` or its `conditions` still null
                status = (live or {}).get("status") or {}
                conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
                if conditions.get("Established") == "True":
                    break
                if time.monotonic() > deadline:
                    raise self._failed(f"CRD {name} not established after {timeout:g} s")
                time.sleep(0.1)
        for api in sorted({f"/apis/{c['spec']['group']}/{v['name']}" for c in crds
                           for v in c["spec"]["versions"] if v.get("served")}):
            while self.get(api) is None:
                if time.monotonic() > deadline:
                    raise self._failed(f"{api} not served after {timeout:g} s")
                time.sleep(0.1)
        # a CRD's storage answers 429 "storage is (re)initializing" for a moment after that
        installed = {crd["spec"]["group"] for crd in crds}
        for group, version, plural, _kind in KINDS:
            if group not in installed:  # built in, or not installed (no ../shared)
                continue
            path = f"/apis/{group}/{version}/{plural}"
            while True:
                try:
                    self.request("GET", path, query=[("limit", "1")])
                    break
                except ControlPlaneError as exc:
                    if getattr(exc, "status", 0) != 429 or time.monotonic() > deadline:
                        raise
                time.sleep(0.1)

    def envoy_filter_rights(self, allowed: bool, namespace: str = "default") -> None:
        """Grant or revoke the ``limited`` user's EnvoyFilter writes in ``namespace``; return
        once the authorizer (it reads RBAC from a cache) answers accordingly."""
        binding = ("/apis/rbac.authorization.k8s.io/v1/namespaces/"
                   f"{namespace}/rolebindings/limited-envoyfilters")
        if allowed:
            self.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": {"name": "lanedesign-envoyfilters"},
                        "rules": [{"apiGroups": ["networking.istio.io"],
                                   "resources": ["envoyfilters"],
                                   "verbs": ["create", "patch", "delete"]}]})
            self.apply(role_binding("limited-envoyfilters", namespace,
                                    "lanedesign-envoyfilters", "limited"))
        elif self.get(binding) is not None:
            self.request("DELETE", binding)
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {"group": "networking.istio.io",
                                                  "resource": "envoyfilters", "verb": "patch",
                                                  "namespace": namespace}}}
        deadline = time.monotonic() + 30
        while self.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                           review, user="limited")["status"].get("allowed", False) != allowed:
            if time.monotonic() > deadline:
                raise ControlPlaneError("RBAC did not take the change within 30 s")
            time.sleep(0.05)

    def reset(self) -> None:
        """Delete every object of :data:`KINDS` (between tests sharing the control plane)."""
        namespaces = [n["metadata"]["name"]
                      for n in self.request("GET", "/api/v1/namespaces")["items"]]
        for group, version, plural, kind in KINDS:
            base = f"/apis/{group}/{version}" if group else f"/api/{version}"
            held = self.request("GET", f"{base}/{plural}")["items"]
            if held and kind in CLUSTER_SCOPED:
                self.request("DELETE", f"{base}/{plural}")
                continue
            # deletecollection is per namespace; ask only where something is
            for ns in sorted({o["metadata"]["namespace"] for o in held} & set(namespaces)):
                self.request("DELETE", f"{base}/namespaces/{ns}/{plural}",
                             query=[("labelSelector", KEEP)] if kind == "Service" else ())

    # -- what the clients under test did (the audit log) ------------------------------------
    def audit_mark(self) -> int:
        """A position in the audit log: :meth:`calls` since it."""
        return self.audit_log.stat().st_size if self.audit_log.exists() else 0

    def calls(self, since: int = 0, user: str | None = "tester") -> list[Call]:
        """Requests of ``user`` (every user: ``None``) since ``since``, oldest first."""
        kinds = {(g, p): k for g, _v, p, k in KINDS}
        result = []
        if not self.audit_log.exists():
            return result
        with open(self.audit_log, "rb") as log:
            log.seek(since)
            for line in log:
                event = json.loads(line)
                if user is not None and event.get("user", {}).get("username") != user:
                    continue
                ref = event.get("objectRef") or {}
                kind = kinds.get((ref.get("apiGroup", ""), ref.get("resource")))
                if ref.get("subresource"):
                    kind = None
                query = event.get("requestURI", "").partition("?")[2]
                result.append(Call(
                    VERB_METHODS.get(event["verb"], event["verb"].upper()), kind,
                    ref.get("namespace"), ref.get("name"), "dryRun=All" in query,
                    "", event.get("responseObject"),
                    status=event.get("responseStatus", {}).get("code", 0),
                    user=event.get("user", {}).get("username", ""),
                    params=dict(parse_qsl(query))))
        return result

    # -- kubeconfigs ---------------------------------------------------------------------------
    def kubeconfig(self, folder: Path, user: str = "tester", context: str = CONTEXT,
                   token: str | None = None) -> Path:
        """A kubeconfig for ``user`` (or any ``token``) with the CA; a second context too."""
        import base64

        ca = base64.b64encode(self.pki["ca"].read_bytes()).decode()
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "lanedesign-local", "cluster": {
                "server": self.url, "certificate-authority-data": ca}}],
            "users": [{"name": user, "user": {"token": token or self.tokens[user]}}],
            "contexts": [{"name": context, "context": {"cluster": "lanedesign-local",
                                                       "user": user}},
                         {"name": "elsewhere", "context": {"cluster": "lanedesign-local",
                                                           "user": user}}],
        }
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "kubeconfig"
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        path.chmod(0o600)
        return path


def object_path(obj: dict, with_name: bool = True) -> str:
    """The URL path of ``obj`` (its collection when not ``with_name``), from its kind."""
    group, _, version = obj["apiVersion"].rpartition("/")
    kind = obj["kind"]
    plural = next((p for g, v, p, k in KINDS if (g, k) == (group, kind)), None)
    if plural is None:  # the bootstrap kinds: lower-case plural is right for all of them
        plural = kind.lower() + ("es" if kind.endswith("ss") else "s")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    namespace = obj["metadata"].get("namespace")
    if namespace and kind not in CLUSTER_SCOPED:
        base += f"/namespaces/{quote(namespace, safe='')}"
    path = f"{base}/{plural}"
    return f"{path}/{quote(obj['metadata']['name'], safe='')}" if with_name else path


def tool_paths() -> tuple[Path, Path]:
    """The built etcd and kube-apiserver (building them first if needed), for scripts."""
    go = go_version()
    if go is None:
        raise ControlPlaneError("Go is not installed: the local control plane is built from "
                                "source with Go 1.26 (https://go.dev/dl/)")
    return (TOOLS["etcd"].build(go, log=print), TOOLS["kube-apiserver"].build(go, log=print))


def default_crd_files(shared: Path) -> list[Path]:
    schemas = shared / "schemas"
    return [schemas / "istio-crds.yaml", *sorted(schemas.glob("gateway.networking.k8s.io_*.yaml"))]


@contextlib.contextmanager
def running(folder: Path | None = None, crd_files: Iterable[Path] = (),
            audit: str | None = "RequestResponse") -> Iterator[ControlPlane]:
    """A started control plane in ``folder`` (a temporary one by default); stopped on exit."""
    etcd, apiserver = tool_paths()
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kube-")))
        yield stack.enter_context(ControlPlane(folder, etcd, apiserver, crd_files, audit))


def main(argv: list[str]) -> int:
    """``make kube``: the control plane in the foreground until Ctrl-C."""
    shared = Path(os.environ.get("LANEDESIGN_SHARED", HERE.parent.parent / "shared"))
    crds = default_crd_files(shared) if (shared / "schemas").is_dir() else []
    stop = {"now": False}

    def interrupted(signum: int, _frame: object) -> None:
        stop["now"] = True

    try:
        with running(crd_files=crds, audit=None) as plane:
            # from here on Ctrl-C (or SIGTERM) ends the loop below and the `with` stops both
            signal.signal(signal.SIGTERM, interrupted)
            signal.signal(signal.SIGINT, interrupted)
            config = plane.kubeconfig(plane.folder, context="lanedesign-local")
            print(f"kube-apiserver {KUBE_VERSION} and etcd are serving at {plane.url}")
            if not crds:
                print(f"(no Istio CRDs: {shared}/schemas is absent; only ASM's are installed)")
            print(f"export KUBECONFIG={config}", flush=True)
            print("Ctrl-C stops both and deletes the folder.", flush=True)
            while not stop["now"]:
                for proc in plane.processes:
                    if proc.popen.poll() is not None:
                        print(proc.tail(), file=sys.stderr)
                        return 1
                time.sleep(0.2)
            print("stopping", flush=True)
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # while building or starting: `running` stopped what started
        print("interrupted", file=sys.stderr)
        return 130
    print("stopped", flush=True)
    return 0


def role_binding(name: str, namespace: str, cluster_role: str, user: str) -> dict:
    """A RoleBinding giving ``user`` the rights of ``cluster_role`` in ``namespace`` only."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": cluster_role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": user}]}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

