"""Writing exports to disk: the one place an export touches the file system, for the command
line and the designer alike."""

from __future__ import annotations

from pathlib import Path

from .codec import dump_manifests, object_filename


def write_manifests(objects: list[dict] | tuple[dict, ...], folder: Path, header: str,
                    ) -> list[Path]:
    """One YAML file per object below ``folder`` (created as needed); the paths written."""
    written = []
    for obj in objects:
        path = folder / object_filename(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_manifests([obj], header), encoding="utf-8")
        written.append(path)
    return written
