"""The Prometheus HTTP API client: the only module of ``observe`` that speaks HTTP.

A bearer token is read from a file and sent in a header; it never appears in a message,
an error or a repr. URLs shown to people have any ``user:password@`` part redacted.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Finding, make

DEFAULT_TIMEOUT = 30.0


@dataclass  # not frozen: context managers assign __traceback__ to exceptions
class PrometheusError(Exception):
    """A query that did not give an answer: what happened, where, and what to do."""

    message: str
    url: str  # redacted
    status: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.message} ({self.url})"

    def finding(self) -> Finding:
        return make("LD800", "--prometheus", str(self), self.hint or None)

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "url": self.url, "status": self.status,
                "hint": self.hint}


def redact(url: str) -> str:
    """``url`` without credentials (``https://***@host/``) and without its query string."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def read_token(path: str | Path) -> str:
    """The bearer token in ``path`` (surrounding whitespace dropped); OSError/ValueError."""
    token = Path(path).read_text(encoding="utf-8").strip()
    if not token or any(c in token for c in "\r\n"):
        raise ValueError(f"{path} does not hold one token on one line")
    return token


class Prometheus:
    """A Prometheus server's HTTP API at ``url`` (e.g. ``http://127.0.0.1:9090``)."""

    def __init__(self, url: str, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{redact(url)!r} is not an http(s) URL of a Prometheus server")
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.queries = 0  # how many queries this client sent (the benchmark reports it)

    def __repr__(self) -> str:
        return f"Prometheus({redact(self.url)!r}, token={'***' if self._token else None})"

    def query(self, promql: str, at: float | None = None) -> Any:
        """An instant query; returns the answer's ``data`` or raises PrometheusError."""
        form = {"query": promql}
        if at is not None:
            form["time"] = f"{at:.3f}"
        return self._post("/api/v1/query", form)

    def _post(self, path: str, form: dict[str, str]) -> Any:
        url = self.url + path
        shown = redact(url)
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json"})
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        self.queries += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, shown) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(f"cannot reach Prometheus: {reason}", shown, None,
                                  "check the URL and that the server is up") from None
        return _data(raw, shown)


def _http_error(exc: urllib.error.HTTPError, shown: str) -> PrometheusError:
    detail = ""
    with contextlib.suppress(ValueError, AttributeError, OSError):
        detail = json.loads(exc.read() or b"{}").get("error", "")
    hints = {401: "the server wants a token: pass --token-file",
             403: "the token was refused: check --token-file",
             404: "no Prometheus API at this URL: give the server's base URL"}
    message = f"Prometheus answered HTTP {exc.code}" + (f": {detail}" if detail else "")
    return PrometheusError(message, shown, exc.code, hints.get(exc.code, ""))


def _data(raw: bytes, shown: str) -> Any:
    try:
        answer = json.loads(raw)
    except ValueError:
        raise PrometheusError("the answer is not JSON (is this a Prometheus server?)",
                              shown) from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise PrometheusError(f"the query failed: {error or 'no success status'}", shown)
    return answer.get("data")
