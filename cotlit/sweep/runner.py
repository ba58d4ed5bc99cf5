"""Run a grid: each run is ``fit`` then ``test`` in fresh processes, with a status file per run.

``<run_dir>/status.json`` holds the run's state (``pending``, ``running``, ``done``, ``failed``), its spec,
the step being run, the process that runs it and, on failure, the tail of the failing step's log. A run is
done only when its test step (or fit, for grids with ``test: null``) exited 0 and wrote ``metrics.json``. A ``running`` run whose process is gone
(same host, dead pid; or a heartbeat older than ``stale_after``) was killed and is run again.
``<runs_dir>/sweep.json`` summarises every run's state.

A run whose fit was killed is continued from its ``checkpoints/last.ckpt`` when the grid's fit template has
``{resume}`` and the run's spec is unchanged; otherwise its old checkpoints are removed before the fit starts
again, so the test step never scores an earlier attempt's weights. A grid with ``results_dir`` reuses the runs
published there (:func:`publish`): their results are copied into the run directory instead of being recomputed.
"""

from __future__ import annotations

import ctypes
import json
import os
import shlex
import shutil
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
from cotlit.io import read_json, write_json
from cotlit.sweep.grid import RESUME, Grid, RunSpec, plain_text

State = Literal["pending", "running", "done", "failed"]
STATUS_FILE = "status.json"
CONFIG_FILE = "config.yaml"
CHECKPOINT_DIR = "checkpoints"
PUBLISHED = (METRICS_FILE, PREDICTIONS_FILE, CONFIG_FILE, STATUS_FILE)
"""What :func:`publish` copies of a finished run: its results and how they were made, never checkpoints."""
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
    if not path.exists():
        return None
    record = read_json(path)
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
    progress = Progress(len(runs))
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
    try:
        for run in runs:
            run_dir = grid.run_dir(run)
            state = state_of(run_dir, options.stale_after)
            if state != "done" and (source := published_run(grid, run)) is not None:
                reuse(grid, run, source)
                log(f"[{run.index}] {run.name}: reused the published results in {source}")
                state = "done"
            if state == "done" or (state == "failed" and not options.retry_failed) or state == "running":
                why = {"done": "finished", "failed": "failed before (--retry_failed runs it again)",
                       "running": "running in another process"}[state]
                log(f"[{run.index}] {run.name}: skipped, {why}")
                counts["skipped"] += 1
                progress.ran(state, _recorded_duration(run_dir) if state == "done" else None)
                continue
            log(f"[{run.index}] {run.name}: running")
            started = time.monotonic()
            state, error = execute(grid, run, options.heartbeat)
            log(f"[{run.index}] {run.name}: {state}" + (f"\n{_indent(error)}" if error else ""))
            counts[state] += 1
            progress.ran(state, time.monotonic() - started)
            log(progress.line())
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
    resume = _resumable(grid, run)
    if not resume:
        for stale in (run_dir / CHECKPOINT_DIR).glob("*.ckpt*"):  # with a killed save's .partial
            stale.unlink()
    status: dict[str, Any] = {
        "name": run.name, "index": run.index, "grid": str(grid.path), "values": run.values,
        "configs": list(run.configs), "overrides": run.overrides, "state": "running",
        "host": socket.gethostname(), "pid": os.getpid(), "pid_start": _start_time(os.getpid()),
        "code": code_version(), "started": _now(), "finished": None, "step": None, "returncode": None, "error": None,
    }
    steps = [("fit", grid.fit)] + ([("test", grid.test)] if grid.test is not None else [])
    try:
        for step, template in steps:
            status.update(step=step, heartbeat=time.time())
            write_json(run_dir / STATUS_FILE, status, default=str)
            argv = grid.command(template, run, resume=resume and step == "fit")
            code = _call(argv, run_dir / f"{step}.log", run_dir, status, heartbeat)
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
    return write_json(grid.runs_dir / "sweep.json", summary, default=str)


class Progress:
    """Runs done out of all, time spent and the time left, estimated from the mean duration of the finished runs
    (those of earlier sweeps too, from their status files)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.failed, self.left = total, 0, 0, total
        self.started = time.monotonic()
        self.durations: list[float] = []

    def ran(self, state: State, seconds: float | None) -> None:
        """Count a run that ended (or was found) ``state``, with its duration when known."""
        self.left -= 1
        self.done += state == "done"
        self.failed += state == "failed"
        if state == "done" and seconds is not None:
            self.durations.append(seconds)

    def line(self) -> str:
        text = f"progress: {self.done}/{self.total} runs done"
        text += f" ({self.failed} failed)" if self.failed else ""
        text += f", elapsed {_duration(time.monotonic() - self.started)}"
        if self.left and self.durations:
            mean = sum(self.durations) / len(self.durations)
            text += f", ETA {_duration(mean * self.left)} for {self.left} more ({_duration(mean)} per run)"
        return text


def published_run(grid: Grid, run: RunSpec) -> Path | None:
    """The run's folder in the grid's ``results_dir`` when it holds finished results of the same spec."""
    if grid.results_dir is None:
        return None
    source = grid.results_dir / run.name
    if not (source / PREDICTIONS_FILE).is_file() or _check_metrics(source / METRICS_FILE, "publish"):
        return None
    record = read_status(source)
    if record is not None and (record["state"] != "done" or not _same_spec(record, run)):
        return None
    return source


def reuse(grid: Grid, run: RunSpec, source: Path) -> None:
    """Copy a published run's results into its run directory and mark it done."""
    run_dir = grid.run_dir(run)
    run_dir.mkdir(parents=True, exist_ok=True)
    record = read_status(source) or {}
    for name in PUBLISHED[:-1]:
        if (source / name).is_file():
            shutil.copyfile(source / name, run_dir / name)
    record |= {"name": run.name, "index": run.index, "grid": str(grid.path), "values": run.values,
               "configs": list(run.configs), "overrides": run.overrides, "state": "done", "reused_from": str(source)}
    write_json(run_dir / STATUS_FILE, record, default=str)


def publish(grid: Grid, runs: list[RunSpec]) -> list[Path]:
    """Copy each done run's results (:data:`PUBLISHED`, never checkpoints) into ``results_dir/<run name>``."""
    if grid.results_dir is None:
        raise CotlitError("--publish needs a results_dir in the grid file", path=grid.path, field="results_dir")
    written = []
    for run in runs:
        run_dir = grid.run_dir(run)
        if state_of(run_dir) != "done" or run_dir.resolve() == (grid.results_dir / run.name).resolve():
            continue
        target = grid.results_dir / run.name
        target.mkdir(parents=True, exist_ok=True)
        for name in PUBLISHED:
            if (run_dir / name).is_file():
                shutil.copyfile(run_dir / name, target / name)
        written.append(target)
    return written


def emit_script(grid: Grid, runs: list[RunSpec], kind: Literal["slurm", "shell"], out: Path | None = None) -> Path:
    """Write a launch script that runs each run as ``cotlit sweep --grid G --only_index I``.

    ``slurm``: a job array, one run per task (``#SBATCH`` options from the grid's ``slurm`` mapping).
    ``shell``: one line per run, to run in order or hand to a parallel launcher. ``$COTLIT`` picks the
    command (default ``cotlit``; may have words, e.g. ``python -m cotlit``).
    """
    if not runs:
        raise CotlitError("the grid has no runs: nothing to launch", path=grid.path)
    out = out or grid.runs_dir / f"launch.{'slurm' if kind == 'slurm' else 'sh'}"
    for value, what in ((str(grid.path), "grid path"), (str(grid.runs_dir), "runs_dir"), (os.getcwd(), "cwd")):
        plain_text(value, grid.path, what)
    base = f'$COTLIT sweep --grid {shlex.quote(str(grid.path))} --runs_dir {shlex.quote(str(grid.runs_dir))}'
    cwd = shlex.quote(os.getcwd())
    lines = ["#!/bin/bash"]
    if kind == "slurm":
        options = {"job-name": grid.name, "array": f"0-{len(runs) - 1}",
                   "output": str(grid.runs_dir.resolve() / "slurm-%A_%a.out")} | grid.slurm
        lines += [f"#SBATCH --{key}={value}" for key, value in options.items()]
        lines += ["", f"# {len(runs)} runs of {grid.path}; array task i runs run i.", "set -euo pipefail",
                  f"cd {cwd}", 'COTLIT="${COTLIT:-cotlit}"', f"{base} --only_index \"$SLURM_ARRAY_TASK_ID\""]
    elif kind == "shell":
        lines += [f"# {len(runs)} runs of {grid.path}, one per line.", "set -uo pipefail", f"cd {cwd}",
                  'COTLIT="${COTLIT:-cotlit}"']
        lines += [f"{base} --only_index {run.index}  # {run.name}" for run in runs]
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
                    write_json(run_dir / STATUS_FILE, status, default=str)
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
    write_json(run_dir / STATUS_FILE, status, default=str)
    return state, error


def _check_metrics(path: Path, step: str) -> str | None:
    if not path.is_file():
        return f"{step} exited 0 but wrote no {path.name}"
    try:
        read_json(path, dict)
    except CotlitError as err:
        return str(err)
    return None


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


def code_version(root: Path = Path(__file__).resolve().parents[2]) -> str | None:
    """The commit of the git checkout at ``root`` (default: the cotlit checkout that runs) as ``git describe
    --always --dirty`` gives it (``-dirty`` when tracked files differ from it); None when it is not a checkout."""
    if not (root / ".git").exists():
        return None
    try:
        result = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


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


def _resumable(grid: Grid, run: RunSpec) -> bool:
    """Whether the run's last fit can be continued: the template can resume, a checkpoint exists, and the status
    file records the same spec (a changed grid must not continue another run's weights)."""
    run_dir = grid.run_dir(run)
    if RESUME not in grid.fit or not (run_dir / CHECKPOINT_DIR / "last.ckpt").is_file():
        return False
    record = read_status(run_dir)
    return record is not None and _same_spec(record, run)


def _recorded_duration(run_dir: Path) -> float | None:
    """Seconds from start to finish of a finished run (wherever it ran), from its status file."""
    record = read_status(run_dir) or {}
    try:
        started = datetime.fromisoformat(record["started"])
        finished = datetime.fromisoformat(record["finished"])
    except (KeyError, TypeError, ValueError):
        return None
    return (finished - started).total_seconds()


def _same_spec(record: dict[str, Any], run: RunSpec) -> bool:
    overrides = json.loads(json.dumps(run.overrides, default=str))
    return record.get("configs") == list(run.configs) and record.get("overrides") == overrides


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
