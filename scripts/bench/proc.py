"""CPU time of a process tree and a description of the machine, read from Linux /proc."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_table() -> tuple[dict[int, list[int]], dict[int, float]]:
    """Children of every pid, and every live process's CPU seconds: its own utime+stime, plus cutime+cstime (the
    CPU of its children that exited and that it reaped)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # exited while we listed
        # The command name (field 2) may hold spaces and parentheses: the fields we want follow the last ")".
        fields = stat[stat.rindex(")") + 2:].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / _TICKS
    return children, times


def tree_pids(root_pid: int) -> list[int]:
    """The live process and all its descendants."""
    children, times = _proc_table()
    return [p for p in _walk(root_pid, children) if p in times]


def _walk(root_pid: int, children: dict[int, list[int]]) -> list[int]:
    out, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def cpu_seconds(root_pid: int) -> float:
    """CPU seconds of a process tree (Linux /proc): utime+stime of the process and its live descendants, plus
    cutime+cstime of each of them.

    The second part keeps the sum from dropping when a descendant exits during a measurement (a Python worker,
    the JVM at shutdown): its parent reaps it and its time moves into the parent's cutime/cstime. No time is
    counted twice: a live child's time is only in its own utime/stime, a reaped one's only in its parent's cutime.
    Lost are only processes reaped outside the tree (orphans adopted by init). Time reaped before a measurement
    started is in both of its samples and cancels out of the difference.
    """
    children, times = _proc_table()
    return sum(times.get(p, 0.0) for p in _walk(root_pid, children))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict[str, str]:
    """What the figures were measured on: cores, CPU model, memory, kernel, java, python."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60).stderr.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        java = "java: unknown"
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem:.0f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "java": java,
        "python": f"Python {platform.python_version()}",
    }
