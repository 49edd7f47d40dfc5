"""How long `bot --help` and `bot profile list` take to start, beside a bare `python -c pass`.

Each command runs as a fresh process of this Python, in turns, several times; the table shows the
median wall time of each and how much it adds to the bare start. `bot profile list` runs against a
temporary store holding one profile, so it opens a database as a user's would.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
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


def timed(args: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(runs: int, cwd: str, env: dict[str, str]) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):  # in turns, so a busy moment of the machine falls on every command alike
        for name, args in COMMANDS.items():
            times[name].append(timed(args, cwd, env))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOT_CONFIG": "bot.toml"}
    with tempfile.TemporaryDirectory() as cwd:
        Path(cwd, "bot.toml").write_text(f'[store]\nurl = "sqlite:///{Path(cwd, "bot.db").as_posix()}"\n')
        subprocess.run(
            [sys.executable, "-m", "bot", "profile", "add", "p", "-k", "graphs"], cwd=cwd, env=env, check=True
        )
        medians = measure(args.runs, cwd, env)
    bare = medians["python -c pass"]
    print(f"{'command':<20} {'median':>8} {'over bare':>10}   ({args.runs} runs each)")
    for name, median in medians.items():
        print(f"{name:<20} {median:>7.3f}s {median - bare:>+9.3f}s")


if __name__ == "__main__":
    main()
