"""Keep ``serve --workers N`` serving: a supervisor that replaces a worker that dies.

The supervisor (the process ``serve`` runs in) holds the listening socket, forks the workers and
then only waits for them. A worker that dies while the service runs (killed, crashed, or stopped
by someone else) is logged in one line naming its pid and how it died, and a new worker takes its
place on the same socket, as gunicorn's arbiter and uvicorn's supervisor do. The supervisor gives
up (stops the others and returns 1, after one line saying why) only when the service cannot go on:

- a worker of the first generation fails (exits with an error) before it serves: a contract or a
  store that fails at start fails every replacement the same way;
- workers keep dying: more than ``max_deaths`` within ``window`` seconds (a replacement that
  cannot start counts too).

SIGTERM or SIGINT to the supervisor stops every worker gracefully (it returns 0); a worker still
running ``GRACE`` seconds later is killed (as gunicorn's ``graceful_timeout``), so a stop always ends.
Stop signals are blocked across each fork: a new worker never runs the supervisor's handler. A worker dies
with its supervisor (Linux ``PR_SET_PDEATHSIG``), so a ``kill -9`` of the supervisor does not
leave workers holding the port.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

log = logging.getLogger("villa_contracts.mock.workers")

MAX_DEATHS = 5
"""Deaths within ``WINDOW`` seconds past which the supervisor gives up."""
WINDOW = 60.0
GRACE = 20.0
"""Seconds a stopped worker has to finish its requests before it is killed."""
_STOPS = {signal.SIGTERM, signal.SIGINT}

Work = Callable[[Callable[[], None]], None]
"""A worker's body: serves until stopped; calls its argument once it serves (the readiness signal)."""


@dataclass
class DeathRate:
    """The deaths of the last ``window`` seconds, by ``clock``; too many when over ``max_deaths``."""

    max_deaths: int = MAX_DEATHS
    window: float = WINDOW
    clock: Callable[[], float] = time.monotonic
    _times: deque[float] = field(default_factory=deque)

    def add(self) -> int:
        """Count one death now; return how many fall in the window."""
        now = self.clock()
        self._times.append(now)
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        return len(self._times)

    def too_many(self) -> bool:
        """Whether the deaths in the window are over the limit."""
        return len(self._times) > self.max_deaths


def how_it_died(status: int) -> str:
    """``os.waitpid``'s status in words: ``killed by SIGKILL``, ``exited with code 1``."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to send this process SIGTERM when its parent dies (Linux; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)


class Supervisor:
    """Runs ``workers`` processes of ``work`` on an inherited socket and keeps their number up."""

    def __init__(
        self, work: Work, *, workers: int, rate: DeathRate | None = None, listening: socket.socket | None = None
    ) -> None:
        """Keep ``workers`` processes of ``work`` alive; ``listening`` is closed in the workers' stead at the end."""
        self.work = work
        self.workers = workers
        self.rate = rate or DeathRate()
        self.listening = listening
        self.running: set[int] = set()
        self.ready: set[int] = set()
        self.first: set[int] = set()
        self.stopping = False
        self.grace = GRACE
        self._killer: threading.Timer | None = None
        self.failure: str | None = None
        self._ready_r, self._ready_w = os.pipe()
        os.set_blocking(self._ready_r, False)

    # -- workers -------------------------------------------------------------------------------

    def _fork(self) -> int:
        parent = os.getpid()
        # Blocked across the fork: a stop signal that comes before the worker has its own handlers waits
        # for them (the worker unblocks it), instead of running the supervisor's handler in the worker.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            pid = os.fork()
            if pid == 0:
                self._be_worker(parent)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
        self.running.add(pid)
        if self.stopping:  # a stop signal came while forking
            self._signal(pid, signal.SIGTERM)
        return pid

    def _be_worker(self, parent: int) -> NoReturn:
        code = 0
        try:
            os.close(self._ready_r)
            # Not the supervisor's handlers: SIGTERM, like Ctrl-C, is a KeyboardInterrupt here, so a
            # worker stopped while it starts leaves at once, and one stopped while it serves (uvicorn
            # captures the signal, shuts down gracefully, then raises it again) leaves with 0.
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
            _die_with_parent(parent)
            self.work(self._announce)
        except KeyboardInterrupt:
            pass
        except BaseException:
            logging.getLogger("villa_contracts.mock").exception("worker %d failed", os.getpid())
            code = 1
        finally:
            os._exit(code)

    def _announce(self) -> None:
        os.write(self._ready_w, os.getpid().to_bytes(4, "little"))

    def _collect_ready(self) -> None:
        try:
            data = os.read(self._ready_r, 4096)
        except BlockingIOError:
            return
        self.ready.update(int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data) - 3, 4))

    @staticmethod
    def _signal(pid: int, signum: int) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, signum: int = signal.SIGTERM, frame: object = None) -> None:
        """Stop every worker (a signal handler: SIGTERM, SIGINT)."""
        if not self.stopping:  # no worker is forked once stopping: a timer thread is safe here
            self._killer = threading.Timer(self.grace, self._kill_late)
            self._killer.daemon = True
            self._killer.start()
        self.stopping = True
        for pid in list(self.running):
            self._signal(pid, signal.SIGTERM)

    def _kill_late(self) -> None:
        for pid in list(self.running):
            log.warning("worker %d did not stop within %g s; killed", pid, self.grace)
            self._signal(pid, signal.SIGKILL)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        """Fork the workers and keep them up until stopped; 0 when stopped, 1 when the service could not go on."""
        previous = signal.signal(signal.SIGTERM, self.stop)
        try:
            for _ in range(self.workers):
                self.first.add(self._fork())
            while self.running:
                try:
                    pid, status = os.waitpid(-1, 0)
                except KeyboardInterrupt:  # Ctrl-C (or SIGINT to the supervisor alone)
                    self.stop()
                    continue
                except ChildProcessError:
                    break
                if pid in self.running:
                    self._on_death(pid, status)
        finally:
            if self._killer is not None:
                self._killer.cancel()
            signal.signal(signal.SIGTERM, previous)
            os.close(self._ready_r)
            os.close(self._ready_w)
        if self.failure is not None:
            log.error("%s", self.failure)
            return 1
        return 0

    def _on_death(self, pid: int, status: int) -> None:
        self.running.discard(pid)
        self._collect_ready()
        served = pid in self.ready
        self.ready.discard(pid)
        if self.stopping:
            return
        how = how_it_died(status)
        if not served and pid in self.first and os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
            # It failed on its own before serving (a contract, a store): every replacement would too.
            self._give_up(f"worker {pid} {how} before it served: the service cannot start; stopping")
            return
        count = self.rate.add()
        if self.rate.too_many():
            self._give_up(
                f"workers keep dying ({count} in {self.rate.window:g} s, the last: worker {pid} {how}); stopping"
            )
            return
        when = "" if served else " before it served"
        new = self._fork()
        log.warning("worker %d %s%s; worker %d started in its place", pid, how, when, new)

    def _give_up(self, why: str) -> None:
        self.failure = why
        self.stop()
