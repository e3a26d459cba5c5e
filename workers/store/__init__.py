"""The Tracker store on PostgreSQL: Trackers, conversations, follow-ups, the Contact Us queue
read model, secure messages and employees (SQLAlchemy 2 async + Alembic).

Every write takes a deterministic key from the caller, so a retried Temporal activity never
writes twice. Functions take an ``async_sessionmaker`` (see ``db.session_factory``) first.
"""
