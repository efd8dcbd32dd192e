"""The supervisor of ``serve --workers N``: a stop always ends, even when a worker will not stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

# A supervisor whose two workers ignore SIGTERM once they serve (a worker stuck in a request, say).
STUBBORN = textwrap.dedent(
    """
    import logging, os, signal, sys, time
    from mock_server.supervisor import Supervisor

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)

    def work(ready):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ready()
        os.write(1, b"serving\\n")  # one write: two workers' lines never interleave (print may write twice)
        while True:
            time.sleep(1)

    supervisor = Supervisor(work, workers=2)
    supervisor.grace = 0.5
    sys.exit(supervisor.run())
    """
)


@pytest.mark.socket
def test_workers_that_ignore_the_stop_are_killed_after_the_grace_and_the_stop_ends_with_0() -> None:
    process = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert [process.stdout.readline() for _ in range(2)] == ["serving\n", "serving\n"]
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)  # a bound for a broken run, never a speed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()  # else a failure here leaves a ResourceWarning to fail a later test
    assert process.returncode == 0, out
    assert out.count("did not stop within 0.5 s; killed") == 2, out
