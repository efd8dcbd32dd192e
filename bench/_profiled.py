"""The mock (memory store) under cProfile: serves until SIGINT, then writes the top functions by own time.

.venv/bin/python bench/_profiled.py PORT OUT_FILE
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mock_server.app import create_app  # noqa: E402
from mock_server.runner import serve_forever  # noqa: E402


def main() -> None:
    """Serve the profiled mock on PORT; write the profile to OUT_FILE when stopped."""
    port, out = int(sys.argv[1]), Path(sys.argv[2])
    profile = cProfile.Profile()

    def build(url: str) -> object:
        app = create_app(base_url=url)
        profile.enable()  # the requests only, not loading the contracts
        return app

    try:
        serve_forever(build, host="127.0.0.1", port=port, log_level="error")  # type: ignore[arg-type]
    finally:
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(20)
        out.write_text(text.getvalue())


if __name__ == "__main__":
    main()
