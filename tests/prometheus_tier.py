"""The real-Prometheus test tier: ``lanedesign.observe.local`` over Debian's package.

Without the binaries the tier skips with the command that installs them; under CI
(``LANEDESIGN_REQUIRE_PROMETHEUS=1``, set by ``.ci/run``) it fails instead.
"""

from __future__ import annotations

import os

from lanedesign.observe.local import LocalPrometheus, tools

INSTALL_HINT = "install Debian's prometheus package: `apt-get install -y prometheus` " \
               "(`make test` does it where it can)"

__all__ = ["INSTALL_HINT", "LocalPrometheus", "required", "tools"]


def required() -> bool:
    return os.environ.get("LANEDESIGN_REQUIRE_PROMETHEUS") == "1"
