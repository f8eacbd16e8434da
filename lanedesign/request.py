"""How people type a request header, the same for the command line and the Request tab.

``NAME=VALUE`` or ``NAME: VALUE``: the first ``=`` or ``:`` ends the name (neither can occur
in an HTTP header name), so the value keeps any later ones: ``x-user=a:b`` is
(``x-user``, ``a:b``) and ``x-user: a=b`` is (``x-user``, ``a=b``). Names are lower-cased
(HTTP/2 sends them so, and the route header is matched that way); both sides are stripped.
"""

from __future__ import annotations

import re

_SEPARATOR = re.compile(r"[=:]")


def parse_header(text: str) -> tuple[str, str]:
    """``"X-User=a:b"`` -> ``("x-user", "a:b")``; ``ValueError`` without a name and separator."""
    found = _SEPARATOR.search(text)
    name = text[:found.start()].strip() if found else ""
    if not name:
        raise ValueError(f"{text.strip()!r} is not 'name: value' (or name=value)")
    return name.lower(), text[found.end():].strip()


def parse_headers(lines: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """Each non-blank line as a header, in order; ``ValueError`` names the first bad one."""
    return [parse_header(line) for line in lines if line.strip()]
