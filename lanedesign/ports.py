"""A Service's ports as Kubernetes has them, and the protocol Istio derives for each."""

from __future__ import annotations

from dataclasses import dataclass

# How Istio picks a port's protocol: `appProtocol` first, else the port name's prefix
# (`<protocol>[-<suffix>]`, any case); anything else is detected at run time ("auto").
HTTP_PROTOCOLS = frozenset({"http", "http2", "grpc", "grpc-web"})
TCP_PROTOCOLS = frozenset({"tcp", "tls", "https", "mongo", "mysql", "redis"})
_APP_PROTOCOL_ALIASES = {"kubernetes.io/h2c": "http2", "kubernetes.io/ws": "http",
                         "kubernetes.io/wss": "https"}
PROTOCOLS: tuple[str, ...] = (*sorted(HTTP_PROTOCOLS), *sorted(TCP_PROTOCOLS), "udp", "auto")


def mesh_protocol(name: str | None, app_protocol: str | None = None,
                  transport: str = "TCP") -> str:
    """The protocol Istio derives for a Service port.

    ``udp`` for a UDP/SCTP port (the mesh does not proxy it); ``appProtocol`` when it names a
    protocol Istio knows; else the name's prefix before the first ``-``; else ``auto`` (Istio
    sniffs HTTP/1.1 and HTTP/2 at run time, everything else is plain TCP).
    """
    if transport.upper() != "TCP":
        return "udp"
    if app_protocol:
        low = _APP_PROTOCOL_ALIASES.get(app_protocol.lower(), app_protocol.lower())
        if low in HTTP_PROTOCOLS or low in TCP_PROTOCOLS:
            return low
    low = (name or "").lower()
    if low.startswith("grpc-web"):  # checked before the prefix: the name holds a `-`
        return "grpc-web"
    prefix = low.split("-", 1)[0]
    if prefix in HTTP_PROTOCOLS or prefix in TCP_PROTOCOLS or prefix == "udp":
        return prefix
    return "auto"


@dataclass(frozen=True)
class ServicePort:
    """One port of a Kubernetes Service as Kubernetes has it (``spec.ports[]``)."""

    port: int
    name: str | None = None
    target_port: int | str | None = None  # None: the same number as ``port``
    app_protocol: str | None = None
    transport: str = "TCP"  # Kubernetes' ``protocol``: TCP, UDP or SCTP

    @property
    def protocol(self) -> str:
        """The protocol Istio derives (``mesh_protocol``)."""
        return mesh_protocol(self.name, self.app_protocol, self.transport)

    def as_kubernetes(self) -> dict[str, object]:
        """The port as a Service's ``spec.ports[]`` entry (Kubernetes' defaults left out); the
        design format spells ports the same way."""
        out: dict[str, object] = {}
        if self.name is not None:
            out["name"] = self.name
        out["port"] = self.port
        if self.target_port is not None:
            out["targetPort"] = self.target_port
        if self.transport != "TCP":
            out["protocol"] = self.transport
        if self.app_protocol is not None:
            out["appProtocol"] = self.app_protocol
        return out

    @property
    def routes_http(self) -> bool:
        """True when a header can pick the version behind this port (HTTP, HTTP/2, gRPC, or
        detected at run time as HTTP)."""
        return self.protocol in HTTP_PROTOCOLS or self.protocol == "auto"
