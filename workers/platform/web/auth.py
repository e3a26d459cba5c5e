"""Bearer-token authentication: the token alone identifies the employee and role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from contracts.platform.directory import DirectoryEntry
from contracts.vocabulary import Role
from workers.platform.web.dependencies import DeskDep, SessionsDep

if TYPE_CHECKING:
    from workers.platform.employees import EmployeeRecord

bearer = HTTPBearer(auto_error=False, description="Token from `memberflow employees add`")


class Caller(BaseModel):
    """The employee behind a request, as the directory holds them at this request."""

    employee_id: str
    name: str
    role: Role
    supervisor_id: str | None = None
    departments: list[str] = Field(default_factory=list)
    """Department codes whose requests the caller sees and claims."""

    @classmethod
    def of(cls, employee: EmployeeRecord) -> Caller:
        """The caller behind a valid token."""
        return cls(
            employee_id=employee.id,
            name=employee.name,
            role=employee.role,
            supervisor_id=employee.supervisor_id,
            departments=list(employee.departments),
        )

    @property
    def entry(self) -> DirectoryEntry:
        """The caller as the permission rules read them (``contracts.platform.permissions``)."""
        return DirectoryEntry(
            employee_id=self.employee_id,
            role=self.role,
            departments=self.departments,
            supervisor_id=self.supervisor_id,
        )


INVALID_TOKEN = "invalid or expired bearer token"
"""The one 401 detail for a token that does not work: unknown, expired, revoked or a disabled
employee's alike, so the answer tells a guesser nothing (and never echoes the token)."""


def client_address(request: Request) -> str:
    """Where the call came from: the peer address as the server resolved it.

    Behind a reverse proxy uvicorn takes it from ``X-Forwarded-For`` when the proxy is trusted
    (``--forwarded-allow-ips``); otherwise it is the proxy's own address.
    """
    return request.client.host if request.client is not None else "unknown"


async def current_employee(
    request: Request,
    desk: DeskDep,
    sessions: SessionsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller; 401 when the token is missing or does not work, 429 while the address has
    failed too often (``auth_failure_limit`` within ``auth_failure_window_seconds``)."""
    source = client_address(request)
    throttle = desk.auth_failures
    wait = throttle.retry_after(source)
    if wait is not None:
        # Checked before the token is even looked at: a blocked address learns nothing about
        # any token it sends, a valid one included, until the wait is over.
        raise HTTPException(
            429,
            detail=f"too many failed authentications from this address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        # Not counted: sending no token guesses nothing.
        raise HTTPException(
            401, detail="missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    from workers.platform.employees import employee_for_token

    employee = await employee_for_token(sessions, credentials.credentials)
    if employee is None:
        throttle.failed(source)
        raise HTTPException(401, detail=INVALID_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    return Caller.of(employee)


CurrentEmployee = Annotated[Caller, Depends(current_employee)]
"""The authenticated employee (401 without a known bearer token)."""
