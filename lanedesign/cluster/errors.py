"""Typed cluster errors that carry the facts (status, object, what is missing) and a fix hint.

Messages never hold credentials: text that came from outside (the server, urllib3, the
kubeconfig loader) passes through ``redact`` with the secrets the connection knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ClusterError(Exception):
    """Something about the cluster stopped the operation; ``hint`` says what to do."""

    code = "cluster-error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.code, "message": self.message, "hint": self.hint}

    def __str__(self) -> str:
        return self.message


class ConfigError(ClusterError):
    """No usable kubeconfig, an unknown context, or no in-cluster service account."""

    code = "config-error"


class Unreachable(ClusterError):
    """The API server did not answer (refused, timed out, TLS failure, name not found)."""

    code = "unreachable"


class ApiError(ClusterError):
    """The API server answered with an error ``Status``; ``status`` is its HTTP code."""

    code = "api-error"

    def __init__(self, status: int, reason: str, message: str, hint: str = "",
                 target: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status
        self.reason = reason
        self.target = target  # the object or path the request was about

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "status": self.status, "reason": self.reason,
                "target": self.target}

    def __str__(self) -> str:
        about = f" ({self.target})" if self.target else ""
        return f"{self.status} {self.reason}{about}: {self.message}"


class TargetNotServed(ClusterError):
    """The cluster does not serve the API groups/kinds the target needs (CRDs missing)."""

    code = "target-not-served"

    def __init__(self, message: str, hint: str, missing: Iterable[str],
                 served: dict[str, list[str]]) -> None:
        super().__init__(message, hint)
        self.missing = tuple(missing)
        self.served = served

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "missing": list(self.missing), "served": self.served}


class StalePlan(ClusterError):
    """The cluster changed between ``diff`` and ``apply``; the reviewed plan no longer holds."""

    code = "stale-plan"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (token, password, key data) replaced by ``<redacted>``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return text
