"""Writing exports to disk: the one place an export touches the file system, for the command
line and the designer alike.

``export_files`` keeps a folder holding exactly a design's objects (GitOps): it records what
it wrote in an index beside the files (``INDEX``), and on the next export into the same
folder removes the files it wrote before for objects the design no longer emits. It never
touches a file the index does not list, nor one changed since it was written; a garbled index
is a finding, and then nothing is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .codec import dump_manifests, object_filename
from .findings import Finding, make

INDEX = ".lanedesign-export.json"  # in the export folder: what lanedesign wrote there
INDEX_FORMAT = 1
WRITER = "lanedesign"


def write_manifests(objects: list[dict] | tuple[dict, ...], folder: Path, header: str,
                    ) -> list[Path]:
    """One YAML file per object below ``folder`` (created as needed); the paths written.

    No index and no removal: ``export_files`` is the export that keeps the folder exact."""
    return [path for path, _ in _write(objects, folder, header)]


def _write(objects: list[dict] | tuple[dict, ...], folder: Path, header: str,
           ) -> list[tuple[Path, str]]:
    """Write each object's file; (path, sha256 of the text written) per object."""
    written = []
    for obj in objects:
        path = folder / object_filename(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = dump_manifests([obj], header)
        path.write_text(text, encoding="utf-8")
        written.append((path, _digest(text.encode("utf-8"))))
    return written


@dataclass(frozen=True)
class FilesWritten:
    """What an export into a folder did: files written, stale files removed, findings (a
    garbled index, a stale file kept because it changed since lanedesign wrote it)."""

    written: tuple[Path, ...]
    removed: tuple[Path, ...] = ()
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"files": [str(p) for p in self.written],
                "removed": [str(p) for p in self.removed],
                "findings": [f.to_dict() for f in self.findings]}


def export_files(objects: list[dict] | tuple[dict, ...], folder: Path, header: str,
                 group: str, target: str) -> FilesWritten:
    """One YAML file per object in ``folder``, and the folder's stale files of ``group`` gone.

    The index (``folder/INDEX``) lists per lane group (design name) the files lanedesign
    wrote, with their content hash. Files it listed for ``group`` that this export does not
    write again are removed if unchanged since; files of other groups, files it never wrote
    and edited files stay. A file written now belongs to ``group`` from now on. Raises
    ``OSError`` when a file or the index cannot be written (callers report it).
    """
    folder = Path(folder)
    index_path = folder / INDEX
    record, problem = read_index(index_path)
    created = _missing_dirs(folder, objects)
    written = _write(objects, folder, header)
    if problem is not None:  # unreadable: remove nothing, and keep it for the user to see
        return FilesWritten(tuple(p for p, _ in written), (), (problem,))
    groups = record["groups"]
    mine = {_relative(p, folder): digest for p, digest in written}
    for other, entry in groups.items():  # what this group writes now is no longer theirs
        if other != group:
            for name in mine:
                entry["files"].pop(name, None)
    before = groups.get(group, {"files": {}, "dirs": []})
    removed, findings, kept = _remove_stale(folder, before["files"], mine)
    dirs = sorted({*before.get("dirs", []), *created})
    gone = _remove_empty_dirs(folder, [d for d in dirs if d not in _parents(mine)])
    groups[group] = {"target": target, "files": {**kept, **dict(sorted(mine.items()))},
                     "dirs": [d for d in dirs if d not in gone]}
    for other in [g for g, e in groups.items() if not e["files"] and g != group]:
        del groups[other]
    _save_index(index_path, groups)
    return FilesWritten(tuple(p for p, _ in written), tuple(removed), tuple(findings))


def read_index(path: Path) -> tuple[dict[str, Any], Finding | None]:
    """The index's record (``{"groups": {...}}``; empty when there is none), or a finding
    saying why it cannot be trusted."""
    empty: dict[str, Any] = {"groups": {}}
    if not path.exists() and not path.is_symlink():
        return empty, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return empty, _garbled(path, f"cannot read it ({_reason(exc)})")
    why = _index_problem(data)
    if why is not None:
        return empty, _garbled(path, why)
    groups = {name: {"target": entry.get("target", ""), "files": dict(entry["files"]),
                     "dirs": list(entry.get("dirs", []))}
              for name, entry in data["groups"].items()}
    return {"groups": groups}, None


def _index_problem(data: Any) -> str | None:
    """Why ``data`` is not an index this version wrote (``None``: it is one)."""
    if not isinstance(data, dict) or data.get("writer") != WRITER:
        return "it is not a lanedesign export index"
    if data.get("format") != INDEX_FORMAT:
        return f"format {data.get('format')!r}, this lanedesign reads format {INDEX_FORMAT}"
    groups = data.get("groups")
    if not isinstance(groups, dict):
        return "`groups` is not a mapping"
    for name, entry in groups.items():
        files = entry.get("files") if isinstance(entry, dict) else None
        dirs = entry.get("dirs", []) if isinstance(entry, dict) else None
        if not isinstance(files, dict) or not isinstance(dirs, list):
            return f"group {name!r} has no `files` mapping and `dirs` list"
        for rel in [*files, *dirs]:
            # only names an export writes: no absolute path, no `..`, at most ns/file
            if not _safe_relative(rel):
                return f"group {name!r} lists {rel!r}, not a path inside the folder"
        if not all(isinstance(d, str) and len(d) == 64 for d in files.values()):
            return f"group {name!r} has a file without its sha256"
    return None


def _safe_relative(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel:
        return False
    parts = PurePosixPath(rel).parts
    return (not PurePosixPath(rel).is_absolute() and 1 <= len(parts) <= 2
            and all(p not in ("", ".", "..") for p in parts))


def _garbled(path: Path, why: str) -> Finding:
    return make("LD603", str(path), f"export index {path}: {why}; no stale file was removed")


def _remove_stale(folder: Path, before: dict[str, str], now: dict[str, str],
                  ) -> tuple[list[Path], list[Finding], dict[str, str]]:
    """Remove the files of ``before`` not in ``now`` whose content is still what was written.

    Returns the paths removed, findings about those kept, and the kept ones' entries (still
    lanedesign's: a later export removes them once they are back as written, or forgets them
    when they are gone)."""
    removed, findings, kept = [], [], {}
    for rel, digest in sorted(before.items()):
        if rel in now:
            continue
        path = folder / rel
        if not path.is_file() or path.is_symlink():
            continue  # gone already (or replaced by something that is not our file)
        try:
            current = _digest(path.read_bytes())
            if current != digest:
                findings.append(make("LD604", str(path), f"{path} is no longer emitted but "
                                     "changed since lanedesign wrote it; kept"))
                kept[rel] = digest
                continue
            path.unlink()
        except OSError as exc:
            findings.append(make("LD605", str(path), f"{path} is no longer emitted but could "
                                 f"not be removed ({_reason(exc)})"))
            kept[rel] = digest
            continue
        removed.append(path)
    return removed, findings, kept


def _missing_dirs(folder: Path, objects: list[dict] | tuple[dict, ...]) -> list[str]:
    """The namespace folders this export will create (they did not exist before)."""
    subdirs = {str(PurePosixPath(object_filename(o)).parent) for o in objects}
    return sorted(d for d in subdirs if d != "." and not (folder / d).exists())


def _parents(files: dict[str, str]) -> set[str]:
    return {str(PurePosixPath(rel).parent) for rel in files}


def _remove_empty_dirs(folder: Path, dirs: list[str]) -> set[str]:
    """Remove those of ``dirs`` (folders lanedesign created) that are now empty."""
    gone = set()
    for rel in dirs:
        path = folder / rel
        try:
            if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()
                gone.add(rel)
            elif not path.exists():
                gone.add(rel)
        except OSError:
            pass  # not empty after all, or not ours to remove: it stays, and stays recorded
    return gone


def _save_index(path: Path, groups: dict[str, Any]) -> None:
    """Write the index whole or not at all (a crash mid-write must not garble it)."""
    data = {"writer": WRITER, "format": INDEX_FORMAT,
            "note": "written by lanedesign export: the files it wrote here, per lane group; "
                    "it removes those a later export no longer writes",
            "groups": dict(sorted(groups.items()))}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _reason(exc: Exception) -> str:
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or \
        type(exc).__name__
