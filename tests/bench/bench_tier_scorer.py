"""Benchmark: the columnar tier engine against the one-member-at-a-time reference.

Run: ``python -m tests.bench.bench_tier_scorer --members 1000000`` (or as a plain script).
Generates N members in memory, times the engine on all of them (whole extract and in
household-aligned shards, cut as a run cuts them), times the reference on a sample and scales
it, checks the two agree on the sample, and prints the speed-up (goal: at least 50x) and the
peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import polars as pl

from contracts.tiers.program import TierProgram
from tests.unit.tiers import reference
from tests.unit.tiers.frames import shards
from workers.tiers.generator import generate_frames
from workers.tiers.scoring.engine import score_extract
from workers.tiers.scoring.program import load_default_program, load_program
from workers.tiers.scoring.results import to_results

SPEED_UP_GOAL = 50


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class ScorerFigures:
    """What one benchmark run measured."""

    members: int
    accounts: int
    generate_seconds: float
    engine_seconds: float
    shard_count: int
    members_in_shards: int
    """Members scored over all shards (equals ``members`` when the shards cover them)."""
    sharded_seconds: float
    sample: int
    reference_seconds: float
    agree: bool
    """Engine and reference give equal results on the sample."""
    peak_rss_mb: float

    @property
    def engine_rate(self) -> float:
        """Members scored per second by the engine (whole extract)."""
        return self.members / self.engine_seconds

    @property
    def reference_scaled_seconds(self) -> float:
        """The reference's time on the sample, scaled to every member."""
        return self.reference_seconds / max(self.sample, 1) * self.members

    @property
    def speed_up(self) -> float:
        """How many times faster the engine is than the (scaled) reference."""
        return self.reference_scaled_seconds / self.engine_seconds


def measure(
    program: TierProgram, period: str, members: int, seed: int, shard_count: int, sample: int
) -> ScorerFigures:
    """Generate ``members`` members, then time and check the engine against the reference."""
    began = time.perf_counter()
    data = generate_frames(period, members, seed)
    generate_s = time.perf_counter() - began
    previous = score_extract(program, period, data).select(
        "member_id", pl.lit("BRZ").alias("level_code")
    )

    began = time.perf_counter()
    frame = score_extract(program, period, data, previous)
    engine_s = time.perf_counter() - began

    began = time.perf_counter()
    in_shards = sum(
        score_extract(program, period, part, previous).height for part in shards(data, shard_count)
    )
    sharded_s = time.perf_counter() - began

    sample = min(sample, members)
    began = time.perf_counter()
    expected = reference.score_extract_reference(program, period, data, previous, limit=sample)
    reference_s = time.perf_counter() - began
    agree = to_results(program, frame.head(sample)) == expected
    return ScorerFigures(
        members=frame.height,
        accounts=data.accounts.height,
        generate_seconds=generate_s,
        engine_seconds=engine_s,
        shard_count=shard_count,
        members_in_shards=in_shards,
        sharded_seconds=sharded_s,
        sample=sample,
        reference_seconds=reference_s,
        agree=agree,
        peak_rss_mb=_peak_rss_mb(),
    )


def print_figures(figures: ScorerFigures) -> None:
    """The figures as the benchmark prints them."""
    f = figures
    print(f"generate: {f.members:,} members, {f.accounts:,} accounts in {f.generate_seconds:.2f} s")
    print(f"engine:    {f.members:,} members in {f.engine_seconds:.2f} s ({f.engine_rate:,.0f}/s)")
    print(
        f"sharded:   {f.shard_count} household-aligned shards in {f.sharded_seconds:.2f} s "
        f"(incl. split), {f.members_in_shards:,} members"
    )
    print(
        f"reference: {f.sample:,} members in {f.reference_seconds:.2f} s; "
        f"scaled to {f.members:,}: {f.reference_scaled_seconds:,.1f} s"
    )
    print(f"agreement on the sample: {'yes' if f.agree else 'NO'}")
    print(f"speed-up engine vs reference: {f.speed_up:,.0f}x (goal >= {SPEED_UP_GOAL}x)")
    print(f"peak RSS: {f.peak_rss_mb:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; non-zero when engine and reference disagree."""
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
    figures = measure(program, args.period, args.members, args.seed, args.shards, args.sample)
    print_figures(figures)
    return 0 if figures.agree and figures.members_in_shards == figures.members else 1


if __name__ == "__main__":
    raise SystemExit(main())
