"""Reading plain data (parsed YAML) into model values, one finding per problem.

``FieldReader`` is shared by every reader of user YAML (design files, ASM objects), so
they report wrong types, unknown fields and bad matches with the same codes and paths.
Reading never raises on input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .findings import Finding, make
from .model import MATCH_KINDS, LaneDesign, RequestMatch, StringMatch


@dataclass(frozen=True)
class Loaded:
    """The result of reading a design: the design (``None`` if unreadable) and findings."""

    design: LaneDesign | None
    findings: tuple[Finding, ...] = ()


class FieldReader:
    """Reads plain data into model values, recording a finding for each problem.

    Subclassed by each reader (``designfile``, ``emit.asm_import``).
    """

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    # -- generic helpers --------------------------------------------------------------
    def _add(self, code: str, path: str, message: str, hint: str | None = None) -> None:
        self.findings.append(make(code, path, message, hint))

    def _mapping(self, value: Any, path: str, required: bool = False) -> dict | None:
        if value is None:
            if required:
                self._add("LD003", path, f"`{path}` is missing")
            return None
        if not isinstance(value, Mapping):
            self._add("LD004", path, f"`{path}` must be a mapping, not {typename(value)}")
            return None
        return dict(value)

    def _fields(self, raw: dict, path: str, known: tuple[str, ...]) -> None:
        for key in raw:
            if key not in known:
                self._add(
                    "LD005", join_path(path, key), f"unknown field `{key}` in `{path}`",
                    f"Known fields here: {', '.join(known)}.",
                )

    def _str(self, raw: dict, key: str, path: str, default: Any = "") -> Any:
        value = raw.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self._add("LD004", join_path(path, key), f"`{key}` must be a string, not "
                      f"{typename(value)}", "Quote the value in YAML.")
            return default
        return value

    def _bool(self, raw: dict, key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self._add("LD004", join_path(path, key), f"`{key}` must be true or false")
            return default
        return value

    def _choice(self, raw: dict, key: str, path: str, allowed: tuple[str, ...],
                default: str) -> str:
        value = self._str(raw, key, path, default)
        if value not in allowed:
            self._add("LD006", join_path(path, key), f"`{key}` is {value!r}; allowed: "
                      f"{', '.join(allowed)}", f"Use one of: {', '.join(allowed)}.")
            return default
        return value

    def _str_list(self, raw: dict, key: str, path: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        if value is None:
            return None
        where = join_path(path, key)
        if not isinstance(value, list):
            self._add("LD004", where, f"`{key}` must be a list of strings, not "
                      f"{typename(value)}", f"Write `{key}: [a, b]`.")
            return None
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            else:
                self._add("LD004", f"{where}[{i}]", f"`{key}` entries must be strings, not "
                          f"{typename(item)}", "Quote the value in YAML.")
        return tuple(out)

    def _str_map(self, raw: dict, key: str, path: str, value_type: type = str,
                 ) -> tuple[tuple[str, Any], ...] | None:
        where = join_path(path, key)
        value = self._mapping(raw.get(key), where)
        if value is None:
            return None
        out = []
        for k, v in value.items():
            if not isinstance(k, str):
                self._add("LD004", where, f"key {k!r} in `{key}` must be a string",
                          "Quote the key in YAML.")
            elif not is_type(v, value_type):
                self._add("LD004", join_path(where, k), f"`{key}.{k}` must be a "
                          f"{value_type.__name__}, not {typename(v)}",
                          "Quote the value in YAML." if value_type is str else None)
            else:
                out.append((k, v))
        return tuple(out)

    def _list_of_mappings(self, raw: dict, key: str, path: str,
                          read: Callable[[dict, str], Any], required: bool = False) -> tuple:
        value = raw.get(key)
        where = join_path(path, key)
        if value is None:
            if required:
                self._add("LD003", where, f"`{where}` is missing")
            return ()
        if not isinstance(value, list):
            self._add("LD004", where, f"`{key}` must be a list, not {typename(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            item_path = f"{where}[{i}]"
            if isinstance(item, Mapping):
                out.append(read(dict(item), item_path))
            else:
                self._add("LD004", item_path, f"each entry of `{key}` must be a mapping, not "
                          f"{typename(item)}", "Write entries as `- name: ...`.")
        return tuple(out)

    # -- the design -------------------------------------------------------------------
    def _request_match(self, value: Any, path: str) -> RequestMatch | None:
        raw = self._mapping(value, path)
        if raw is None:
            return None
        self._fields(raw, path, ("uri", "headers"))
        headers = []
        for name, match in (self._mapping(raw.get("headers"), join_path(path, "headers")) or {}
                            ).items():
            where = join_path(join_path(path, "headers"), str(name))
            if not isinstance(name, str):
                self._add("LD004", where, f"header name {name!r} must be a string")
                continue
            string_match = self._string_match(match, where)
            if string_match is not None:
                headers.append((name, string_match))
        uri = None
        if raw.get("uri") is not None:
            uri = self._string_match(raw.get("uri"), join_path(path, "uri"))
        return RequestMatch(uri=uri, headers=tuple(headers))

    def _string_match(self, value: Any, path: str) -> StringMatch | None:
        raw = self._mapping(value, path, required=True)
        if raw is None:
            return None
        kinds = [k for k in MATCH_KINDS if k in raw]
        self._fields(raw, path, MATCH_KINDS)
        if len(kinds) != 1:
            self._add("LD006", path, f"a match needs exactly one of exact, prefix, regex; "
                      f"found {len(kinds)}", "Write e.g. `{exact: s2}`.")
            return None
        kind = kinds[0]
        value = raw[kind]
        if not isinstance(value, str):
            self._add("LD004", join_path(path, kind), f"`{kind}` must be a string, not "
                      f"{typename(value)}", "Quote the value in YAML.")
            return None
        return StringMatch(kind, value)


def is_type(value: Any, wanted: type) -> bool:
    # bool is an int in Python but never a weight, port or name in a design
    return isinstance(value, wanted) and not (wanted is int and isinstance(value, bool))


def typename(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
