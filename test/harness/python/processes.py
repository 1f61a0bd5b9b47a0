"""Test support: ending a process started in a session of its own, with what it started."""

import os
import signal
import subprocess


def stop_group(proc, grace_s=10):
    """SIGTERM to the process group, then SIGKILL if it is still there after ``grace_s``."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
