"""How long `bot --help` and `bot profile list` take to start, beside a bare `python -c pass`.

Each command runs as a fresh process of this Python, in turns, several times; the table shows the
median wall time of each and how much it adds to the bare start, and the same for CPU time (user and
system), which a busy machine disturbs less. `bot profile list` runs against a
temporary store holding one profile, so it opens a database as a user's would.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "bot --help": ["-m", "bot", "--help"],
    "bot profile list": ["-m", "bot", "profile", "list"],
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], cwd: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run: on a busy machine the CPU time still shows the work done."""
    start, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, cpu_seconds() - cpu


def measure(runs: int, cwd: str, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(runs):  # in turns, so a busy moment of the machine falls on every command alike
        for name, args in COMMANDS.items():
            times[name].append(timed(args, cwd, env))
    return {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOT_CONFIG": "bot.toml"}
    with tempfile.TemporaryDirectory() as cwd:
        Path(cwd, "bot.toml").write_text(f'[store]\nurl = "sqlite:///{Path(cwd, "bot.db").as_posix()}"\n')
        profile = [sys.executable, "-m", "bot", "profile", "add", "p", "-k", "graphs"]
        subprocess.run(profile, cwd=cwd, env=env, check=True, capture_output=True)
        medians = measure(args.runs, cwd, env)
    bare_wall, bare_cpu = medians["python -c pass"]
    print(f"medians of {args.runs} runs each")
    print(f"{'command':<20} {'wall':>8} {'over bare':>10} {'cpu':>8} {'over bare':>10}")
    for name, (wall, cpu) in medians.items():
        print(f"{name:<20} {wall:>7.3f}s {wall - bare_wall:>+9.3f}s {cpu:>7.3f}s {cpu - bare_cpu:>+9.3f}s")


if __name__ == "__main__":
    main()
