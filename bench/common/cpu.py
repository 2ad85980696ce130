"""CPU and memory accounting from ``/proc``: per process tree, per group of processes, the whole machine."""

from __future__ import annotations

import math
import os
import resource
import time
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, ppid, cpu seconds) of one process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK


def all_proc_stats() -> dict[int, tuple[str, int, float]]:
    """``proc_stat`` of every process alive now."""
    stats = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (st := proc_stat(int(entry.name))):
            stats[int(entry.name)] = st
    return stats


def tree_pids(stats: dict[int, tuple[str, int, float]], root: int | None) -> list[int]:
    """``root`` and its descendants among ``stats`` (empty when ``root`` is gone)."""
    if root is None or root not in stats:
        return []
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_cpu(root: int | None) -> float:
    """CPU seconds of a process and its descendants (alive now)."""
    stats = all_proc_stats()
    return sum(stats[pid][2] for pid in tree_pids(stats, root))


def child_pids(parent: int) -> list[int]:
    """Direct children of ``parent`` alive now."""
    return [pid for pid, (_, ppid, _) in all_proc_stats().items() if ppid == parent]


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all CPUs), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / CLK  # minus idle and iowait


def wait_quiet(limit: float, threshold: float) -> tuple[float, float, bool]:
    """Wait (at most ``limit`` s) until the machine is idle — busy < ``threshold`` cores over two consecutive 0.5 s
    windows — so a phase does not start while other jobs share the CPUs. Returns (waited s, last busy, idle)."""
    start = time.monotonic()
    quiet, busy = 0, math.nan
    while quiet < 2 and time.monotonic() - start < limit:
        before = machine_busy()
        time.sleep(0.5)
        busy = (machine_busy() - before) / 0.5
        quiet = quiet + 1 if busy < threshold else 0
    return time.monotonic() - start, busy, quiet >= 2


def rusage_cpu(ru0: resource.struct_rusage, ru1: resource.struct_rusage) -> float:
    """User + system CPU seconds between two ``getrusage`` readings."""
    return (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)


def rss_kib(pid: int) -> int:
    try:
        import psutil  # optional

        return psutil.Process(pid).memory_info().rss // 1024
    except ImportError:
        pass
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _is_other_database_backend(pid: int, database: str) -> bool:
    """A PostgreSQL backend serving another database than the bench's (other work sharing this server)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    is_client_backend = ("(" in title and ")" in title) or "[local]" in title
    return is_client_backend and f" {database} " not in title


def cpu_snapshot(database: str, gunicorn_pid: int | None, celery_pid: int | None) -> dict[str, dict[int, float]]:
    """CPU seconds per pid, grouped: the gunicorn and celery process trees, ``postgres`` (the backends of
    ``database`` + background processes), ``redis``, ``kernel`` (kernel threads) and ``machine`` (whole machine)."""
    groups: dict[str, dict[int, float]] = {"gunicorn": {}, "postgres": {}, "redis": {}, "celery": {}, "kernel": {}}
    groups["machine"] = {0: machine_busy()}
    stats = all_proc_stats()
    for pid in tree_pids(stats, gunicorn_pid):
        groups["gunicorn"][pid] = stats[pid][2]
    for pid in tree_pids(stats, celery_pid):
        groups["celery"][pid] = stats[pid][2]
    for pid, (comm, _, cpu) in stats.items():
        if comm.startswith("postgres") and not _is_other_database_backend(pid, database):
            groups["postgres"][pid] = cpu
        elif comm.startswith("redis-server"):
            groups["redis"][pid] = cpu
        elif pid == 2 or stats[pid][1] == 2:  # kernel threads (ksoftirqd: loopback TCP work at high rates)
            groups["kernel"][pid] = cpu
    return groups


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds used per group between two snapshots (processes that exited in between are not counted)."""
    return {
        group: sum(cpu - before[group].get(pid, 0.0) for pid, cpu in after[group].items())
        for group in after  # a pid new since `before` counts from 0
    }
