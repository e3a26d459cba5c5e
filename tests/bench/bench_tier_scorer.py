"""Benchmark: the columnar tier engine against the one-member-at-a-time reference.

Run: ``python -m tests.bench.bench_tier_scorer --members 1000000`` (or as a plain script).
Generates N members in memory, times the engine on all of them (whole extract and in
household-aligned shards), times the reference on a sample and scales it, checks the two
agree on the sample, and prints the speed-up (goal: at least 50x) and the peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import polars as pl

from tests.unit.tiers import reference
from workers.tiers.generator import generate_frames
from workers.tiers.scoring import engine
from workers.tiers.scoring.program import load_default_program, load_program


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5_000, help="members scored by the reference")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--period", default="2026-05")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--household", action="store_true", help="household scoring on")
    parser.add_argument(
        "--program", type=Path, default=None, help="program YAML (default: shipped)"
    )
    args = parser.parse_args(argv)

    program = load_program(args.program) if args.program else load_default_program()
    if args.household:
        program = program.model_copy(update={"household_scoring": True})
    print(f"polars {pl.__version__}, threads {pl.thread_pool_size()}")

    began = time.perf_counter()
    data = generate_frames(args.period, args.members, args.seed)
    generate_s = time.perf_counter() - began
    print(
        f"generate: {data.members.height:,} members, {data.accounts.height:,} accounts "
        f"in {generate_s:.2f} s"
    )
    previous = engine.score_extract(program, args.period, data).select(
        "member_id", pl.lit("BRZ").alias("level_code")
    )

    began = time.perf_counter()
    frame = engine.score_extract(program, args.period, data, previous)
    engine_s = time.perf_counter() - began
    print(
        f"engine:    {frame.height:,} members in {engine_s:.2f} s "
        f"({frame.height / engine_s:,.0f}/s)"
    )

    began = time.perf_counter()
    scored = 0
    for part in engine.split_shards(data, args.shards):
        scored += engine.score_extract(program, args.period, part, previous).height
    sharded_s = time.perf_counter() - began
    assert scored == frame.height
    print(f"sharded:   {args.shards} household-aligned shards in {sharded_s:.2f} s (incl. split)")

    sample = min(args.sample, args.members)
    began = time.perf_counter()
    expected = reference.score_extract_reference(program, args.period, data, previous, limit=sample)
    reference_s = time.perf_counter() - began
    per_member = reference_s / max(sample, 1)
    scaled = per_member * args.members
    print(
        f"reference: {sample:,} members in {reference_s:.2f} s; "
        f"scaled to {args.members:,}: {scaled:,.1f} s"
    )
    got = engine.to_results(program, frame.head(sample))
    agree = got == expected
    print(f"agreement on the sample: {'yes' if agree else 'NO'}")
    ratio = scaled / engine_s if engine_s else float("inf")
    print(f"speed-up engine vs reference: {ratio:,.0f}x (goal >= 50x)")
    print(f"peak RSS: {_peak_rss_mb():,.0f} MB")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
