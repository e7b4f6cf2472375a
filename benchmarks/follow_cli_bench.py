"""``cowlog replay --follow`` end to end: how long an appended line takes to come out (not a test).

Run: ``python benchmarks/follow_cli_bench.py [--lines N]``. Starts ``python -m cowlog replay
--follow`` on a file and on stdin; N times, appends one line (to the file, or writes it to the
pipe), waits for it on the command's stdout and records the time; between lines it waits 0 to
50 ms at random. Prints p50, p90, p99 and max for each. The file's figures are dominated by the
0.1 s look at an idle file; stdin's by the two threads' hand-off through the log.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time


def latencies(mode: str, lines: int) -> list[float]:
    """Seconds from each line written to the same line read back, for *mode* file or stdin."""
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "app.jsonl")
    open(path, "w").close()  # an empty file to follow
    source = path if mode == "file" else "-"
    command = [sys.executable, "-m", "cowlog", "replay", "--follow", source, "--format", "jsonl"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if mode == "stdin" else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    rng = random.Random(1)
    taken = []
    try:
        for i in range(lines):
            line = (json.dumps({"key": f"k{i % 5}", "ts": i, "msg": "x" * 50}) + "\n").encode()
            began = time.perf_counter()
            if mode == "file":
                with open(path, "ab") as log:
                    log.write(line)
            else:
                assert process.stdin is not None
                os.write(process.stdin.fileno(), line)
            echoed = process.stdout.readline()
            taken.append(time.perf_counter() - began)
            assert json.loads(echoed)["ts"] == i, echoed
            time.sleep(rng.uniform(0.0, 0.05))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200)
    args = parser.parse_args()
    for mode in ("file", "stdin"):
        taken = sorted(latencies(mode, args.lines))

        def ms(fraction: float, taken: list[float] = taken) -> str:
            return f"{taken[min(len(taken) - 1, int(fraction * len(taken)))] * 1e3:.1f} ms"

        print(
            f"{mode:5}: {len(taken)} lines: p50 {ms(0.5)}, p90 {ms(0.9)}, p99 {ms(0.99)}, "
            f"max {taken[-1] * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
