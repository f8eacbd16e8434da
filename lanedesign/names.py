"""Syntax rules for the names a design carries into Kubernetes, Istio and HTTP.

Sources: apimachinery's validation (DNS-1123/1035, label keys and values), RFC 9110 tokens
for header names and W3C baggage keys; see ``istio-semantics.md`` §8.
"""

from __future__ import annotations

import re

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
LOWER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9a-z]+$")


def is_dns1123_label(name: str) -> bool:
    return len(name) <= 63 and bool(DNS1123_LABEL.fullmatch(name))


def is_dns1035_label(name: str) -> bool:
    return len(name) <= 63 and bool(DNS1035_LABEL.fullmatch(name))


def is_dns1123_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(DNS1123_SUBDOMAIN.fullmatch(name))


def is_label_key(key: str) -> bool:
    prefix, sep, name = key.rpartition("/")
    if sep and not (prefix and is_dns1123_subdomain(prefix)):
        return False
    return len(name) <= 63 and bool(LABEL_NAME.fullmatch(name))


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(LABEL_VALUE.fullmatch(value))


def is_header_name(name: str) -> bool:
    """A lowercase HTTP token (our policy: Envoy lowercases names, HTTP/2 requires it)."""
    return bool(LOWER_TOKEN.fullmatch(name))


def is_token(name: str) -> bool:
    return bool(TOKEN.fullmatch(name))


def is_host(host: str) -> bool:
    """``*``, ``*.example.com`` or a DNS-1123 subdomain (an ingress host)."""
    if host == "*":
        return True
    if host.startswith("*."):
        host = host[2:]
    return is_dns1123_subdomain(host)
