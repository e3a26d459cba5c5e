"""The benchmarks at a small size, so CI shows they still run and prints their figures.

Full sizes are run by hand (README, "Tests"); no wall-clock time is asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import bench_tier_run, bench_tier_scorer

pytestmark = pytest.mark.integration


def test_tier_scorer_benchmark_small(capsys: pytest.CaptureFixture[str]) -> None:
    # The benchmark returns non-zero when engine and reference disagree on its sample.
    assert bench_tier_scorer.main(["--members", "5000", "--sample", "500"]) == 0
    output = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + output)
    assert "agreement on the sample: yes" in output
    assert "speed-up engine vs reference" in output


@pytest.mark.asyncio(loop_scope="session")
async def test_tier_run_benchmark_small(
    server_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await bench_tier_run.bench(server_env, members=2000, months=2, shards=2, work=tmp_path)
    output = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + output)
    assert "first scoring" in output and "following month" in output
