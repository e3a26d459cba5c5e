"""Bearer tokens with a lifetime: issued, looked up by hash, revoked (``employee_tokens``).

A token is 256 random bits (``secrets.token_urlsafe(32)``), shown once and stored only as its
SHA-256. A plain hash is enough: the value is not a password a person chose, so there is no
dictionary to try and nothing a slow, salted hash would protect; SHA-256's preimage resistance
keeps a leaked table from yielding usable tokens, and a plain hash can be looked up by an index.

An employee may hold several live tokens at once (a desk and a laptop, or a new token issued
before the old one ran out); each ends at its expiry, or earlier when it is revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from workers.platform.database import Base, _now

TOKEN_BYTES = 32
"""Random bytes in a token: 256 bits, beyond any guessing."""


def hash_token(token: str) -> str:
    """The stored form of a bearer token: its SHA-256, hex (see the module docstring)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(stored: str, presented: str) -> bool:
    """Whether two token hashes are equal, compared in constant time.

    The index lookup that found the row compared them already; this second comparison keeps
    the final decision independent of where two hashes first differ.
    """
    return hmac.compare_digest(stored.encode("ascii"), presented.encode("ascii"))


class TokenRow(Base):
    """One issued bearer token: its hash, when it was issued, when it ends or was revoked."""

    __tablename__ = "employee_tokens"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def live_at(self, now: datetime) -> bool:
        """Not revoked and not yet expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at


async def issue_token(
    session: AsyncSession, employee_id: str, *, now: datetime, lifetime: timedelta
) -> str:
    """Store a new token for the employee (inside the caller's transaction) and return it.

    Args:
        session: A session in a transaction; the employee must exist.
        employee_id: Whose token it is.
        now: The moment of issue.
        lifetime: How long it works.

    Returns:
        The token itself: shown once, never stored.
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        TokenRow(
            employee_id=employee_id,
            token_hash=hash_token(token),
            issued_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return token


async def revoke_tokens(session: AsyncSession, employee_id: str, *, now: datetime) -> int:
    """Revoke every token of the employee not revoked yet (inside the caller's transaction).

    Expired tokens are stamped too, so "revoked at" tells when access was taken away.

    Returns:
        How many tokens were revoked.
    """
    result = await session.execute(
        update(TokenRow)
        .where(TokenRow.employee_id == employee_id, TokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
