"""Run a grid: each run is ``fit`` then ``test`` in fresh processes, with a status file per run.

``<run_dir>/status.json`` holds the run's state (``pending``, ``running``, ``done``, ``failed``), its spec,
the step being run, the process that runs it and, on failure, the tail of the failing step's log. A run is
done only when its test step (or fit, for grids with ``test: null``) exited 0 and wrote ``metrics.json``. A ``running`` run whose process is gone
(same host, dead pid; or a heartbeat older than ``stale_after``) was killed and is run again.
``<runs_dir>/sweep.json`` summarises every run's state.
"""

from __future__ import annotations

import ctypes
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from cotlit.core import METRICS_FILE, PREDICTIONS_FILE
from cotlit.errors import CotlitError
from cotlit.sweep.grid import Grid, RunSpec

State = Literal["pending", "running", "done", "failed"]
STATUS_FILE = "status.json"
TAIL_LINES = 30
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RunnerOptions:
    """How a sweep treats runs it finds already started."""

    retry_failed: bool = False
    """Run failed runs again (by default they are reported and left alone)."""
    stale_after: float = 300.0
    """Seconds without a heartbeat after which a ``running`` run on another host counts as killed."""
    heartbeat: float = 30.0
    """Seconds between heartbeats written while a step runs."""


def read_status(run_dir: Path) -> dict[str, Any] | None:
    """The run's status record, or None when it has none."""
    path = run_dir / STATUS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as err:
        raise CotlitError(f"unreadable status file: {err}", path=path) from None
    if not isinstance(record, dict) or record.get("state") not in ("pending", "running", "done", "failed"):
        raise CotlitError("not a status record", path=path, field="state")
    return record


def state_of(run_dir: Path, stale_after: float = RunnerOptions.stale_after) -> State:
    """The run's effective state: a ``done`` run without metrics and a killed ``running`` run are pending."""
    record = read_status(run_dir)
    if record is None:
        return "pending"
    state = record["state"]
    if state == "done" and not (run_dir / METRICS_FILE).is_file():
        return "pending"
    if state == "running" and not _alive(record, stale_after):
        return "pending"
    return state


def run_sweep(
    grid: Grid, runs: list[RunSpec], options: RunnerOptions = RunnerOptions(), log: Callable[[str], None] = print
) -> Counter[str]:
    """Run every unfinished run in order; returns how many of the runs it ran ended ``done`` or ``failed``,
    and how many it ``skipped``."""
    counts: Counter[str] = Counter()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
    try:
        for run in runs:
            run_dir = grid.run_dir(run)
            state = state_of(run_dir, options.stale_after)
            if state == "done" or (state == "failed" and not options.retry_failed) or state == "running":
                why = {"done": "finished", "failed": "failed before (--retry-failed runs it again)",
                       "running": "running in another process"}[state]
                log(f"[{run.index}] {run.name}: skipped, {why}")
                counts["skipped"] += 1
                continue
            log(f"[{run.index}] {run.name}: running")
            state, error = execute(grid, run, options.heartbeat)
            log(f"[{run.index}] {run.name}: {state}" + (f"\n{_indent(error)}" if error else ""))
            counts[state] += 1
            write_summary(grid, options.stale_after)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        write_summary(grid, options.stale_after)
    return counts


def execute(grid: Grid, run: RunSpec, heartbeat: float = RunnerOptions.heartbeat) -> tuple[State, str | None]:
    """Run one run's fit and test steps; returns its final state and, if it failed, why."""
    run_dir = grid.run_dir(run)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (METRICS_FILE, PREDICTIONS_FILE):
        (run_dir / stale).unlink(missing_ok=True)
    status: dict[str, Any] = {
        "name": run.name, "index": run.index, "grid": str(grid.path), "values": run.values,
        "configs": list(run.configs), "overrides": run.overrides, "state": "running",
        "host": socket.gethostname(), "pid": os.getpid(), "pid_start": _start_time(os.getpid()),
        "started": _now(), "finished": None, "step": None, "returncode": None, "error": None,
    }
    steps = [("fit", grid.fit)] + ([("test", grid.test)] if grid.test is not None else [])
    try:
        for step, template in steps:
            status.update(step=step, heartbeat=time.time())
            _write_json(run_dir / STATUS_FILE, status)
            code = _call(grid.command(template, run), run_dir / f"{step}.log", run_dir, status, heartbeat)
            if code != 0:
                return _finish(run_dir, status, "failed", code,
                               f"{step} exited {code}; last lines of {step}.log:\n{_tail(run_dir / f'{step}.log')}")
        error = _check_metrics(run_dir / METRICS_FILE, steps[-1][0])
        return _finish(run_dir, status, "failed" if error else "done", 0, error)
    except KeyboardInterrupt:
        _finish(run_dir, status, "pending", None, f"interrupted during {status['step']}")
        raise


def write_summary(grid: Grid, stale_after: float = RunnerOptions.stale_after) -> Path:
    """Write ``<runs_dir>/sweep.json``: every run of the grid with its index, directory and effective state."""
    rows = [{"index": run.index, "name": run.name, "dir": str(grid.run_dir(run)),
             "state": state_of(grid.run_dir(run), stale_after)} for run in grid.expand()]
    summary = {"grid": str(grid.path), "updated": _now(), "counts": dict(Counter(r["state"] for r in rows)),
               "runs": rows}
    grid.runs_dir.mkdir(parents=True, exist_ok=True)
    return _write_json(grid.runs_dir / "sweep.json", summary)


def emit_script(grid: Grid, runs: list[RunSpec], kind: Literal["slurm", "shell"], out: Path | None = None) -> Path:
    """Write a launch script that runs each run as ``cotlit sweep --grid G --only-index I``.

    ``slurm``: a job array, one run per task (``#SBATCH`` options from the grid's ``slurm`` mapping).
    ``shell``: one line per run, to run in order or hand to a parallel launcher. ``$COTLIT`` picks the
    command (default ``cotlit``; may have words, e.g. ``python -m cotlit``).
    """
    out = out or grid.runs_dir / f"launch.{'slurm' if kind == 'slurm' else 'sh'}"
    base = f'$COTLIT sweep --grid {shlex.quote(str(grid.path))} --runs-dir {shlex.quote(str(grid.runs_dir))}'
    cwd = shlex.quote(os.getcwd())
    lines = ["#!/bin/bash"]
    if kind == "slurm":
        options = {"job-name": grid.name, "array": f"0-{len(runs) - 1}",
                   "output": str(grid.runs_dir.resolve() / "slurm-%A_%a.out")} | grid.slurm
        lines += [f"#SBATCH --{key}={value}" for key, value in options.items()]
        lines += ["", f"# {len(runs)} runs of {grid.path}; array task i runs run i.", "set -euo pipefail",
                  f"cd {cwd}", 'COTLIT="${COTLIT:-cotlit}"', f"{base} --only-index \"$SLURM_ARRAY_TASK_ID\""]
    elif kind == "shell":
        lines += [f"# {len(runs)} runs of {grid.path}, one per line.", "set -uo pipefail", f"cd {cwd}",
                  'COTLIT="${COTLIT:-cotlit}"']
        lines += [f"{base} --only-index {run.index}  # {run.name}" for run in runs]
    else:
        raise CotlitError(f"unknown launcher {kind!r}; valid: slurm, shell")
    grid.runs_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.chmod(0o755)
    return out


def _call(argv: list[str], log_path: Path, run_dir: Path, status: dict[str, Any], heartbeat: float) -> int:
    """Run one step with output to ``log_path``, refreshing the heartbeat while it runs."""
    with log_path.open("w", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(argv)}\n")
        log.flush()
        try:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=_die_with_parent(os.getpid()))
        except OSError as err:
            log.write(f"cannot start: {err}\n")
            return 127
        try:
            while True:
                try:
                    return proc.wait(timeout=heartbeat)
                except subprocess.TimeoutExpired:
                    status["heartbeat"] = time.time()
                    _write_json(run_dir / STATUS_FILE, status)
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """On Linux, a step gets SIGTERM when the sweep dies, even by SIGKILL: an orphaned step would go on writing the
    run directory while the next sweep runs the same run again."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the sweep died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def _finish(run_dir: Path, status: dict[str, Any], state: State, code: int | None,
            error: str | None) -> tuple[State, str | None]:
    status.update(state=state, returncode=code, error=error, finished=_now())
    _write_json(run_dir / STATUS_FILE, status)
    return state, error


def _check_metrics(path: Path, step: str) -> str | None:
    if not path.is_file():
        return f"{step} exited 0 but wrote no {path.name}"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        return f"{path.name} is not readable JSON: {err}"
    return None if isinstance(record, dict) else f"{path.name} is not a JSON object"


def _alive(record: dict[str, Any], stale_after: float) -> bool:
    """Whether the process that marked a run ``running`` still runs it."""
    if record.get("host") == socket.gethostname():
        pid = record.get("pid")
        if not isinstance(pid, int):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return record.get("pid_start") is None or record.get("pid_start") == _start_time(pid)
    heartbeat = record.get("heartbeat")
    return isinstance(heartbeat, (int, float)) and time.time() - heartbeat < stale_after


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _write_json(path: Path, record: dict[str, Any]) -> Path:
    """Write atomically, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
