"""Counter-based random numbers as polars expressions, for the extract generator.

A value is a pure function of ``(seed, stream, row index)``: splitmix64 (``mix64``) over a
Weyl sequence, in polars' wrapping UInt64 arithmetic. So the same seed gives the same numbers
on any machine and in any chunking, with no Python loop per row; each column of the generator
draws from its own ``stream``.
"""

from __future__ import annotations

import polars as pl

from workers.tiers.scoring.hashing import mix64

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def uniform(seed: int, stream: int, index: pl.Expr) -> pl.Expr:
    """A uniform float in [0, 1) per row, fixed by ``seed``, ``stream`` and the row index."""
    offset = (seed * 0xD1B54A32D192ED03 + stream * 0xAF251AF3B0F025B5 + 1) & _MASK
    x = index.cast(pl.UInt64) * pl.lit(_GOLDEN, pl.UInt64) + pl.lit(offset, pl.UInt64)
    return (mix64(x) // 2048).cast(pl.Float64) * (2.0**-53)


def int_below(u: pl.Expr, n: int) -> pl.Expr:
    """An integer in 0..n-1 from a uniform."""
    return (u * n).floor().cast(pl.Int64).clip(0, n - 1)
