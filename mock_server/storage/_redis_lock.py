"""The Redis store's lock: the token that names its holder, and the Lua scripts run under it.

A holder's token is ``<machine>/<pid>/<random>``: a process on the same machine (and PID namespace)
can tell that the holder is no longer running and free its lock at once (``dead_holder``). The
scripts act only while the lock is still the caller's (its token), so a holder whose lock expired
never writes over another's.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# KEYS[1] the lock; ARGV[1] the lock token, then (op, key, field, value) quadruples: set/del a hash's
# field, or zadd/zrem a sorted set's member (value: its score).
# Applies the writes only if the lock is still ours, then frees it; answers 1, or 0 when it was lost.
COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local i = 2
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'set' then redis.call('HSET', ARGV[i+1], ARGV[i+2], ARGV[i+3])
  elseif op == 'zadd' then redis.call('ZADD', ARGV[i+1], ARGV[i+3], ARGV[i+2])
  elseif op == 'zrem' then redis.call('ZREM', ARGV[i+1], ARGV[i+2])
  else redis.call('HDEL', ARGV[i+1], ARGV[i+2]) end
  i = i + 4
end
redis.call('DEL', KEYS[1])
return 1
"""
# KEYS[1] the lock; ARGV[1] the lock token. Frees the lock if it is still ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] the lock; ARGV[1] the lock token, ARGV[2] its new lifetime (ms). Renews the lock if it is still ours.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def _machine() -> str:
    """This machine and PID namespace: where a lock holder's pid can be looked up."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}.{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return "unknown"


_MACHINE = _machine()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_token() -> str:
    """A token for this process to hold the lock with (its machine, its pid, and a random part)."""
    return f"{_MACHINE}/{os.getpid()}/{secrets.token_hex(8)}"


def dead_holder(held: object) -> str | None:
    """The pid of the lock's holder when it ran on this machine and is no longer running, else None.

    ``held`` is the lock's value as Redis answers it (bytes, or None when nobody holds it).
    """
    machine, _, rest = (held.decode(errors="replace") if isinstance(held, bytes) else "").partition("/")
    pid = rest.partition("/")[0]
    if machine == _MACHINE and pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
        return pid
    return None
