"""CPU time of a process tree and a description of the machine, read from Linux /proc."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_table() -> tuple[dict[int, list[int]], dict[int, float]]:
    """Children of every pid, and every live process's own utime+stime in seconds."""
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
        times[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
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
    """utime+stime of a process and all its live descendants (Linux /proc).

    Only live processes count: a descendant that already exited and was reaped is not listed any more (its
    time went to its parent's cutime, which this does not add, so as not to count it twice for the living).
    The benchmarks sample while the processes that do the work (JVM, Python workers) are alive.
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
