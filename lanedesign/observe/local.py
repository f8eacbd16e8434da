"""A throwaway local Prometheus over synthetic traffic, for tests, benchmarks and teaching.

Needs Debian's ``prometheus`` package (``prometheus`` and ``promtool`` on PATH). Samples (from
``synthetic.py``) become TSDB blocks with ``promtool tsdb create-blocks-from openmetrics``;
``prometheus`` then serves them on 127.0.0.1 (a free port, a temporary data directory,
retention long enough for old blocks, nothing scraped). Each data set gets its own four-hour
slot of time, so one server holds many and a query at a slot's time sees only that one.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from .calls import Sample
from .synthetic import openmetrics

SLOT = 4 * 3600.0  # seconds of time per data set (two 2-hour blocks, never shared)
BASE = 1_767_225_600.0  # 2026-01-01T00:00:00Z: fixed, so every run writes the same blocks
WINDOW = 900.0  # the 15m window each data set fills
CONFIG = "global:\n  scrape_interval: 1h\nscrape_configs: []\n"


def tools() -> tuple[str, str] | None:
    """Paths of ``prometheus`` and ``promtool``, or None when either is missing."""
    found = shutil.which("prometheus"), shutil.which("promtool")
    return found if all(found) else None  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPrometheus:
    """Data sets written as blocks, then one server over them (``with`` stops it)."""

    def __init__(self, workdir: Path | None = None) -> None:
        found = tools()
        if found is None:
            raise RuntimeError("prometheus/promtool not found: install Debian's prometheus "
                               "package (`apt-get install -y prometheus`)")
        self.prometheus, self.promtool = found
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="lanedesign-prom-")
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.data = self.workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.slots = 0
        self.process: subprocess.Popen | None = None
        self.url = ""

    def add(self, samples: Iterable[Sample], window: float = WINDOW,
            step: float = 15.0) -> float:
        """Write ``samples`` as counters over the window ending at the returned time, one
        point per ``step`` seconds (fewer points: smaller blocks, same ``increase``)."""
        return self.add_text(lambda at: openmetrics(samples, at, window, step))

    def add_text(self, render: Callable[[float], str]) -> float:
        """Write the OpenMetrics text ``render(at)`` into a slot of its own; returns ``at``,
        the time its data ends (other metrics than Istio's: a broker exporter's gauges)."""
        at = BASE + self.slots * SLOT + SLOT / 2
        self.slots += 1
        source = self.workdir / f"set-{self.slots}.om"
        source.write_text(render(at), encoding="utf-8")
        done = subprocess.run([self.promtool, "tsdb", "create-blocks-from", "openmetrics",
                               str(source), str(self.data)], capture_output=True, text=True,
                              timeout=1800, check=False)
        source.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"promtool failed: {done.stderr.strip()[-500:]}")
        return at

    def start(self, timeout: float = 60.0) -> str:
        """Start the server; returns its URL once it answers ``/-/ready``."""
        config = self.workdir / "prometheus.yml"
        config.write_text(CONFIG, encoding="utf-8")
        port = free_port()
        log_path = self.workdir / "prometheus.log"
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [self.prometheus, f"--config.file={config}",
                 f"--storage.tsdb.path={self.data}", "--storage.tsdb.retention.time=100y",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("prometheus exited: " + log_path.read_text()[-800:])
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return self.url
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prometheus was not ready after {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalPrometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
