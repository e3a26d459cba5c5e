"""The benchmarks at a small size: they still run, and the figures they report are sane.

Full sizes are run by hand (README, "Tests"); no wall-clock time is asserted here, only that
times and rates are positive, counts add up, and engine and reference agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import bench_tier_run, bench_tier_scorer
from workers.tiers.scoring.program import load_default_program

pytestmark = pytest.mark.integration


def test_tier_scorer_benchmark_small(capsys: pytest.CaptureFixture[str]) -> None:
    figures = bench_tier_scorer.measure(
        load_default_program(), "2026-05", members=5_000, seed=1, shard_count=3, sample=500
    )
    bench_tier_scorer.print_figures(figures)
    with capsys.disabled():
        print("\n" + capsys.readouterr().out)
    assert figures.agree, "engine and reference disagree on the sample"
    assert figures.members == 5_000 and figures.sample == 500
    assert figures.members_in_shards == figures.members, "shards cover every member once"
    assert figures.accounts > figures.members  # every member holds at least the base share
    for seconds in (
        figures.generate_seconds,
        figures.engine_seconds,
        figures.sharded_seconds,
        figures.reference_seconds,
    ):
        assert seconds > 0
    assert figures.engine_rate > 0 and figures.speed_up > 0
    assert figures.peak_rss_mb > 0
    # The command-line entry point prints the same figures and exits 0 when they agree.
    assert bench_tier_scorer.main(["--members", "1000", "--sample", "100", "--shards", "2"]) == 0
    assert "agreement on the sample: yes" in capsys.readouterr().out


@pytest.mark.asyncio(loop_scope="session")
async def test_tier_run_benchmark_small(
    server_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = 2_000
    first, following = await bench_tier_run.bench(
        server_env, members=members, months=2, shards=2, work=tmp_path
    )
    with capsys.disabled():
        print("\n" + capsys.readouterr().out)
    for figures in (first, following):
        report = figures.report
        assert report.members_scored == members
        assert report.shard_count == 2
        # Every period is new to the store: each member's row is written once.
        assert report.rows_written == members
        assert sum(report.counts_by_level.values()) == members
        assert sum(n for row in report.movement.values() for n in row.values()) == members
        assert report.members_published == report.members_changed <= members
        assert figures.wall_seconds > 0 and figures.members_per_second > 0
        assert report.timings["total"] > 0
        assert all(seconds >= 0 for seconds in report.timings.values())
        assert figures.peak_rss_mib > 0
    # First scoring: no previous level, so every member changed and got an event ...
    assert first.label == "first scoring"
    assert first.report.members_changed == members
    assert set(first.report.movement) == {"none"}
    # ... the following month publishes only the members whose level moved.
    assert following.label == "following month"
    assert 0 < following.report.members_changed < members
    assert "none" not in following.report.movement
