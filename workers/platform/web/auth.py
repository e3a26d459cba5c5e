"""Bearer-token authentication: the token alone identifies the employee and role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from contracts.vocabulary import Role
from workers.platform.web.dependencies import SessionsDep

bearer = HTTPBearer(auto_error=False, description="Token from `memberflow employees add`")


class Caller(BaseModel):
    """The employee behind a request."""

    employee_id: str
    name: str
    role: Role
    supervisor_id: str | None = None

    @property
    def is_supervisor(self) -> bool:
        """Supervisors may act on anyone's follow-ups."""
        return self.role is Role.SUPERVISOR


async def current_employee(
    sessions: SessionsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller, or 401 when the token is missing or unknown."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            401, detail="missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    from workers.platform.employees import employee_for_token

    employee = await employee_for_token(sessions, credentials.credentials)
    if employee is None:
        raise HTTPException(
            401, detail="invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return Caller(
        employee_id=employee.id,
        name=employee.name,
        role=employee.role,
        supervisor_id=employee.supervisor_id,
    )


CurrentEmployee = Annotated[Caller, Depends(current_employee)]
"""The authenticated employee (401 without a known bearer token)."""
