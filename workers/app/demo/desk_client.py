"""A small client of the employee desk HTTP API (used by the demo, benchmarks and tests)."""

from __future__ import annotations

from typing import Any

import httpx


class DeskError(RuntimeError):
    """The API answered with an error status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class DeskClient:
    """Calls ``/api/v1`` as one employee (their bearer token)."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail"))
            except ValueError:
                detail = response.text
            raise DeskError(response.status_code, detail)
        return response.json()

    async def queue(
        self, state: str = "queued", department: str | None = None
    ) -> list[dict[str, Any]]:
        """Contact requests in a state, oldest first."""
        params = {"state": state} | ({"department": department} if department else {})
        result: list[dict[str, Any]] = (
            await self._call("GET", "/contact-requests", params=params)
        )["items"]
        return result

    async def request(self, request_id: str) -> dict[str, Any]:
        """One request with its message and callback details."""
        result: dict[str, Any] = await self._call("GET", f"/contact-requests/{request_id}")
        return result

    async def claim(self, request_id: str) -> dict[str, Any]:
        """Claim a request."""
        result: dict[str, Any] = await self._call("POST", f"/contact-requests/{request_id}/claim")
        return result

    async def release(self, request_id: str) -> dict[str, Any]:
        """Release a claimed request."""
        result: dict[str, Any] = await self._call("POST", f"/contact-requests/{request_id}/release")
        return result

    async def reply(self, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Reply to a request (optionally copying to the Tracker and opening a follow-up)."""
        result: dict[str, Any] = await self._call(
            "POST", f"/contact-requests/{request_id}/reply", json=body
        )
        return result

    async def delete(self, request_id: str) -> dict[str, Any]:
        """Delete a request."""
        result: dict[str, Any] = await self._call("POST", f"/contact-requests/{request_id}/delete")
        return result

    async def follow_ups(
        self, assignee: str | None = None, status: str = "outstanding"
    ) -> list[dict[str, Any]]:
        """Follow-ups of an assignee in a status."""
        params = {"status": status} | ({"assignee": assignee} if assignee else {})
        result: list[dict[str, Any]] = (await self._call("GET", "/follow-ups", params=params))[
            "items"
        ]
        return result

    async def follow_up(self, follow_up_id: str) -> dict[str, Any]:
        """One follow-up with its conversation thread."""
        result: dict[str, Any] = await self._call("GET", f"/follow-ups/{follow_up_id}")
        return result

    async def complete(self, follow_up_id: str, note: str | None = None) -> dict[str, Any]:
        """Complete a follow-up."""
        body = {"note": note} if note else {}
        result: dict[str, Any] = await self._call(
            "POST", f"/follow-ups/{follow_up_id}/complete", json=body
        )
        return result

    async def reassign(
        self, follow_up_id: str, assignee: str, note: str | None = None
    ) -> dict[str, Any]:
        """Reassign a follow-up."""
        body: dict[str, Any] = {"assignee_employee_id": assignee} | ({"note": note} if note else {})
        result: dict[str, Any] = await self._call(
            "POST", f"/follow-ups/{follow_up_id}/reassign", json=body
        )
        return result

    async def add_note(self, follow_up_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Add a note (optionally with a next follow-up)."""
        result: dict[str, Any] = await self._call(
            "POST", f"/follow-ups/{follow_up_id}/notes", json=body
        )
        return result

    async def trackers(self, member_id: str) -> list[dict[str, Any]]:
        """The member's Trackers, conversations newest first."""
        result: list[dict[str, Any]] = (await self._call("GET", f"/members/{member_id}/trackers"))[
            "items"
        ]
        return result

    async def messages(self, member_id: str) -> list[dict[str, Any]]:
        """The member's secure messages."""
        result: list[dict[str, Any]] = (await self._call("GET", f"/members/{member_id}/messages"))[
            "items"
        ]
        return result

    async def tier(self, member_id: str, period: str | None = None) -> dict[str, Any]:
        """The member's tier points summary."""
        params = {"period": period} if period else {}
        result: dict[str, Any] = await self._call(
            "GET", f"/members/{member_id}/tier", params=params
        )
        return result

    async def start_scoring(self, period: str) -> dict[str, Any]:
        """Start (or get) a period's scoring run."""
        result: dict[str, Any] = await self._call(
            "POST", "/tier-scoring/runs", json={"period": period}
        )
        return result

    async def scoring_run(self, period: str) -> dict[str, Any]:
        """A scoring run's state and report."""
        result: dict[str, Any] = await self._call("GET", f"/tier-scoring/runs/{period}")
        return result

    async def follow_up_report(self, date_from: str, date_to: str) -> list[dict[str, Any]]:
        """Per-employee follow-up figures."""
        params = {"from": date_from, "to": date_to}
        result: list[dict[str, Any]] = (
            await self._call("GET", "/reports/follow-ups", params=params)
        )["items"]
        return result
