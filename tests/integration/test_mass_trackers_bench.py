"""The mass Tracker benchmark at a small size: it runs, and its figures are sane."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import bench_mass_trackers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_mass_tracker_benchmark_small(
    server_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = 2_000
    figures = await bench_mass_trackers.bench(
        server_env, members=members, sample=100, chunk=500, work=tmp_path
    )
    with capsys.disabled():
        print("\n" + capsys.readouterr().out)
    report = figures.report
    assert report.members_total == members
    assert report.skipped_by_reason == {
        "unknown member": members // 20,
        "membership closed": members // 50,
    }
    assert report.created + report.skipped == members
    assert figures.members_per_second > 0 and figures.peak_rss_mib > 0
    assert figures.baseline_seconds_per_member > 0
