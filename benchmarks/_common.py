"""What the benchmarks share: running a command with its time and memory, and sample data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, stdout: IO[bytes] | None = None) -> tuple[float, float]:
    """Run a command; return its wall time (s) and peak resident memory (MB).

    Its output goes to ``stdout`` (a file opened for writing) or is discarded.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    # Reading stderr to its end before waiting keeps a chatty command from blocking on a full
    # pipe; wait4 then reports the peak memory of this child alone.
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr}")
    return wall, usage.ru_maxrss / 1024


def sample_data(accounts: int, days: int, work: Path) -> Path:
    """The folder of a generated sample company (seed 1), generated on first use."""
    data = work / f"data-{accounts}x{days}"
    if not (data / "usage.csv").exists():
        shutil.rmtree(data, ignore_errors=True)
        print(f"generating {accounts:,} accounts x {days} days ...", flush=True)
        subprocess.run(
            [
                BIN / "cstool",
                "sample",
                "generate",
                str(data),
                "--accounts",
                str(accounts),
                "--days",
                str(days),
                "--seed",
                "1",
            ],
            check=True,
        )
    return data
