"""A stable 64-bit hash as a polars expression, shared by the sharding and the generator.

Computed in polars' wrapping ``UInt64`` arithmetic, so the same input gives the same hash on
every machine and library version (a household's shard, a generated extract's bytes).
"""

from __future__ import annotations

import polars as pl


def mix64(x: pl.Expr) -> pl.Expr:
    """splitmix64 finaliser on UInt64 (wrapping arithmetic): a stable, well-spread hash."""
    x = x.cast(pl.UInt64)
    x = (x ^ (x // (1 << 30))) * pl.lit(0xBF58476D1CE4E5B9, pl.UInt64)
    x = (x ^ (x // (1 << 27))) * pl.lit(0x94D049BB133111EB, pl.UInt64)
    return x ^ (x // (1 << 31))
