"""The lane in W3C ``baggage`` as one RE2 regular expression, for targets that can only match.

The Gateway API has no filter that could run code before routing (Istio's target turns the
baggage member into the route header in Lua); a header match on ``baggage`` is all there is.
The expression holds exactly when the simulator's ``baggage_member`` reading finds the lane.
"""

from __future__ import annotations

from functools import lru_cache

OWS = "[ \\t]"  # optional whitespace around baggage members, as the W3C grammar allows


@lru_cache(maxsize=4096)  # one per lane, asked again for every service the lane reaches
def baggage_regex(key: str, lane: str) -> str:
    """RE2 for a ``baggage`` value whose *last* member ``key`` decodes to ``lane``.

    The simulator's reading (``simulate.baggage_member``): members split at ',', properties
    after ';' dropped, whitespace around key and value ignored, the value percent-decoded, the
    last member with the key wins. RE2 has no look-ahead, so "no later member has the key" is
    spelt out as a member that is not ``key`` followed by optional whitespace and '='.
    """
    value = "".join(_decoded_char(c) for c in lane)
    member = f"{OWS}*{quote_regex(key)}{OWS}*={OWS}*{value}{OWS}*(?:;[^,]*)?"
    return f"(?:[^,]*,)*{member}(?:,{OWS}*{_not_key(key)})*"


def _decoded_char(char: str) -> str:
    """``char`` as itself or as its %XX escape (either case of hex digits)."""
    hexa = f"{ord(char):02x}"
    digits = "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in hexa)
    return f"(?:{quote_regex(char)}|%{digits})"


def _not_key(key: str) -> str:
    """RE2 for the rest of a member after its leading whitespace, unless it is ``key=...``.

    Nested by how much of the key has been read: at each step either the next key character
    follows, or some other character (then anything), or the member ends there.
    """
    tail = f"{OWS}*(?:[^,= \\t][^,]*)?"  # the whole key read: anything but optional ws + '='
    for i in range(len(key) - 1, -1, -1):
        excluded = _class_char(key[i]) + ("" if i else " \\t")
        tail = f"(?:{quote_regex(key[i])}{tail}|[^,{excluded}][^,]*)?"
    return tail


def _class_char(char: str) -> str:
    return f"\\{char}" if char in "\\]^-[" else char


def quote_regex(text: str) -> str:
    """``text`` as an RE2 literal (its metacharacters escaped)."""
    return "".join(f"\\{c}" if c in "\\.+*?()|[]{}^$" else c for c in text)
