"""The codec server: Temporal's Web UI and CLI decode encrypted payloads through it.

The HTTP contract is Temporal's remote codec: ``POST /encode`` and ``POST /decode`` with a
``temporal.api.common.v1.Payloads`` message as protobuf JSON (``{"payloads": [{"metadata":
{"encoding": "<base64>"}, "data": "<base64>"}]}``), answered in the same shape. Callers show an
operator's bearer token (``Authorization: Bearer``, as ``temporal workflow show --codec-endpoint
... --codec-auth 'Bearer <token>'`` sends it); other roles are refused (``CODEC_ROLES``), failed
tokens are throttled per address as on the desk, and every use leaves an access-trail row.
The dev server's UI cannot attach a header, so the token may also be the first path segment: a
UI codec endpoint of ``http://host:port/<token>`` (typed into the UI's *Codec Server* setting)
makes it call ``/<token>/decode``. The access log is off: a path can hold a token. CORS admits
the configured UI origins only (the UI's preflight sends ``Content-Type``, ``X-Namespace`` and,
when passing one, ``Authorization``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from contracts.platform.permissions import CODEC_ROLES
from workers.platform.audit import AuditAction, record_event
from workers.platform.database import Sessions
from workers.platform.employees import EmployeeRecord, employee_for_token
from workers.platform.payload_codec import PayloadDecryptError
from workers.platform.settings import Settings
from workers.platform.web.throttle import FailureThrottle

log = logging.getLogger("memberflow.codec")

Authenticate = Callable[[str], Awaitable[EmployeeRecord | None]]
"""The enabled employee a bearer token belongs to, or None (``employee_for_token``)."""

Record = Callable[[EmployeeRecord, AuditAction, int, str | None], Awaitable[None]]
"""Writes one access-trail row: who, what, the status answered, from where."""


async def _no_trail(
    employee: EmployeeRecord, action: AuditAction, status: int, source: str | None
) -> None:
    """For apps built without a database (tests of the HTTP contract alone)."""


@dataclass
class CodecAccess:
    """Who may call the codec server, and what each call leaves behind."""

    authenticate: Authenticate
    record: Record = _no_trail
    throttle: FailureThrottle = field(default_factory=FailureThrottle)


_ACTIONS = {"decode": AuditAction.PAYLOADS_DECODE, "encode": AuditAction.PAYLOADS_ENCODE}

_MAX_BODY_BYTES = 8 * 2**20  # a history page of payloads; Temporal caps one payload at 2 MB


def create_codec_app(codec: PayloadCodec, access: CodecAccess, origins: list[str]) -> FastAPI:
    """The codec server's app.

    Args:
        codec: The payload codec (the same keys as the workers).
        access: Token lookup, access trail and failed-token throttle.
        origins: Browser origins allowed by CORS (the Temporal Web UI's).
    """
    app = FastAPI(title="memberflow codec server", openapi_url=None, docs_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["POST"],
        allow_headers=["Content-Type", "X-Namespace", "Authorization"],
        allow_credentials=True,
    )

    async def caller(request: Request, token: str | None, operation: str) -> EmployeeRecord:
        """The operator calling, or 429/401/403 (checked before the body is read)."""
        source = request.client.host if request.client else "unknown"
        wait = access.throttle.retry_after(source)
        if wait is not None:
            raise HTTPException(
                429, "too many failed authentications; try again later", {"Retry-After": str(wait)}
            )
        employee = await access.authenticate(token) if token else None
        if employee is None:
            if token:
                access.throttle.failed(source)
            raise HTTPException(
                401, "invalid or missing bearer token", {"WWW-Authenticate": "Bearer"}
            )
        if employee.role not in CODEC_ROLES:
            await access.record(employee, _ACTIONS[operation], 403, source)
            allowed = ", ".join(sorted(CODEC_ROLES))
            raise HTTPException(
                403,
                f"{employee.id} ({employee.role}) may not {operation} workflow payloads; "
                f"allowed: {allowed} (docs/security.md, 'Codec server and the Web UI')",
            )
        return employee

    async def answer(request: Request, token: str | None, operation: str) -> Response:
        employee = await caller(request, token, operation)
        source = request.client.host if request.client else None
        try:
            done = await transform(request, operation)
        except HTTPException as refused:
            await access.record(employee, _ACTIONS[operation], refused.status_code, source)
            raise
        # Written before the answer leaves: a decode whose row cannot be written is not answered.
        await access.record(employee, _ACTIONS[operation], 200, source)
        return Response(
            json_format.MessageToJson(Payloads(payloads=done)), media_type="application/json"
        )

    async def transform(request: Request, operation: str) -> list[Payload]:
        body = await request.body()
        if len(body) > _MAX_BODY_BYTES:
            raise HTTPException(413, "body too large")
        try:
            payloads = json_format.Parse(body, Payloads())
        except json_format.ParseError:
            raise HTTPException(
                400, "the body is not a JSON temporal.api.common.v1.Payloads"
            ) from None
        try:
            if operation == "encode":
                done = await codec.encode(payloads.payloads)
            else:
                done = await codec.decode(payloads.payloads)
        except PayloadDecryptError as exc:
            # The message names a key id only; payload content never appears in it.
            raise HTTPException(400, str(exc)) from None
        return done

    def bearer(request: Request) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        """Encrypt payloads (``Authorization: Bearer`` required)."""
        return await answer(request, bearer(request), "encode")

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        """Decrypt payloads; plain ones come back unchanged."""
        return await answer(request, bearer(request), "decode")

    @app.post("/{token}/encode")
    async def encode_with_path_token(token: str, request: Request) -> Response:
        """``/encode`` for the Web UI, which cannot send a header: the token is in the path."""
        return await answer(request, bearer(request) or token, "encode")

    @app.post("/{token}/decode")
    async def decode_with_path_token(token: str, request: Request) -> Response:
        """``/decode`` for the Web UI, the token in the path."""
        return await answer(request, bearer(request) or token, "decode")

    return app


def cors_origins(settings: Settings) -> list[str]:
    """The configured UI origins (``MEMBERFLOW_CODEC_CORS_ORIGINS``)."""
    return [o.strip() for o in settings.codec_cors_origins.split(",") if o.strip()]


def database_access(sessions: Sessions, settings: Settings) -> CodecAccess:
    """The codec server's access against the employees table and the access trail."""

    async def authenticate(token: str) -> EmployeeRecord | None:
        return await employee_for_token(sessions, token)

    async def record(
        employee: EmployeeRecord, action: AuditAction, status: int, source: str | None
    ) -> None:
        await record_event(
            sessions, employee_id=employee.id, action=action, status=status, client_address=source
        )

    throttle = FailureThrottle(settings.auth_failure_limit, settings.auth_failure_window_seconds)
    return CodecAccess(authenticate, record, throttle)


async def serve_codec(settings: Settings) -> None:
    """Run the codec server on ``api_host:codec_port`` until SIGINT/SIGTERM."""
    from workers.platform.database import engine_for, session_factory
    from workers.platform.migrate import upgrade
    from workers.platform.payload_codec import EncryptionCodec, load_keys

    codec = EncryptionCodec(load_keys(settings.temporal))  # no key: fails here, at start
    await upgrade(settings.database.url)  # the tokens table, on a fresh stack
    engine = engine_for(settings.database, pool_size=2)
    sessions = session_factory(engine)

    access = database_access(sessions, settings)
    app = create_codec_app(codec, access, cors_origins(settings))
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.codec_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    log.info(
        "codec server on %s:%d, keys %s",
        settings.api_host,
        settings.codec_port,
        ", ".join(codec.key_ids),
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await engine.dispose()
