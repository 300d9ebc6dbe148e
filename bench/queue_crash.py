"""Torture: the kiosk's sync daemon SIGKILLed at random moments, 1,000 times by default.

A kiosk (its own queue, device key and virtual card) in front of a real
``grant-service serve`` on loopback; ``--envelopes`` signed reservations queued (more
are added between kills when the queue runs low). Then, ``--kills`` times: start the
sync daemon, wait a random moment (within its start-up, or up to ``--window`` seconds
into its work), SIGKILL it. Finally ``kiosk-sync --once`` without a kill, and the
checks: every envelope processed by the service once (resends are answered as replays),
accepted on the kiosk, the queue database intact. Exit status 1 on any loss or
duplicate. The loop is ``tests/support/crash_torture.py``, shared with
``tests/kiosk/offline_queue/test_crash.py``; its docstring says how the daemon is started (``fork``:
the console script's entry point in a forked child, ~0.1 s to its first batch;
``exec``: the ``kiosk-sync`` console script itself, ~1 s) and where the kills land.

    .venv/bin/python bench/queue_crash.py [--kills 1000] [--envelopes 300] [--seed N]
        [--batch 5] [--mode fork|exec] [--window 0.15] [--service-kills 0.0]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")  # test imports
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support.crash_torture

from tests.support.crash_torture import final_check, shorten_service_leases, torture  # noqa: E402
from tests.support.kiosk_harness import make_card_and_ca, make_rig  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--envelopes", type=int, default=300, help="queued before the kills")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--batch", type=int, default=5, help="the daemon's batch size")
    parser.add_argument("--mode", choices=("fork", "exec"), default="fork")
    parser.add_argument(
        "--window", type=float, default=0.15, help="seconds after start-up kills land in"
    )
    parser.add_argument(
        "--service-kills",
        type=float,
        default=0.0,
        help="share of the cycles that also SIGKILL and restart the grant service (whose "
        "in-flight claims then last 3 s, not 60)",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {seed} (again: --seed {seed})", flush=True)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(home)  # the test CA and card, as make_rig expects
        rig = make_rig(home, make_card_and_ca(), sync_batch_size=args.batch)
        try:
            if args.service_kills:
                shorten_service_leases(rig, 3)
            rig.queue(args.envelopes)
            report = torture(
                rig,
                kills=args.kills,
                seed=seed,
                log_dir=home,
                mode=args.mode,
                window=args.window,
                service_kill_share=args.service_kills,
                progress=lambda line: print(line, flush=True),
            )
            verdict = final_check(rig)
        finally:
            rig.service.stop()
    elapsed = time.perf_counter() - started

    print(
        f"\nkiosk-sync SIGKILLed {len(report.kills)} times ({args.envelopes} envelopes "
        f"queued first, batches of {args.batch}, mode {args.mode})"
    )
    for line in [*report.lines(), *verdict.lines()]:
        print(f"  {line}")
    print(f"{'kills':<34}{len(report.kills):>8}")
    print(f"{'kills that interrupted work':<34}{report.interrupted:>8}")
    print(f"{'  of which with a batch in flight':<34}{report.in_flight:>8}")
    print(f"{'envelopes':<34}{verdict.envelopes:>8}")
    print(f"{'duplicates':<34}{len(verdict.twice):>8}")
    print(f"{'losses':<34}{len(set(verdict.lost) | set(verdict.unsettled)):>8}")
    print(f"{'total time (s)':<34}{elapsed:>8.1f}")
    return 0 if verdict.sound and not report.exited_early else 1


if __name__ == "__main__":
    sys.exit(main())
