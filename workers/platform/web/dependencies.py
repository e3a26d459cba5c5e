"""Typed FastAPI dependencies: what the desk API's routes are given, written once.

The app factory binds one :class:`DeskServices` to the app (:func:`bind`); routes ask for its
parts through the ``Annotated`` aliases below and never read ``app.state`` themselves. Tests
bind their own ``DeskServices`` the same way (a fixed ``clock`` pins "today"), or override one
dependency with ``app.dependency_overrides``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from temporalio.client import Client

from contracts.platform.operations import OpsConfig
from workers.platform.clock import Clock, local_today, system_clock
from workers.platform.database import Sessions
from workers.platform.settings import Settings
from workers.platform.web.throttle import FailureThrottle
from workers.platform.web.updates import DeskUpdates


@dataclass(frozen=True)
class DeskServices:
    """The connections and configuration the desk API's routes use."""

    sessions: Sessions
    temporal: Client
    ops: OpsConfig
    settings: Settings
    clock: Clock = system_clock
    """Where "now" comes from; "today" is its date in the credit union's time zone."""
    auth_failures: FailureThrottle = field(default_factory=FailureThrottle)
    """Failed authentications per client address (``auth_failure_*`` settings)."""


def bind(app: FastAPI, services: DeskServices) -> None:
    """Give the app's routes these services (once, when the app is built)."""
    app.state.desk_services = services


def desk_services(request: Request) -> DeskServices:
    """The services bound to the app serving this request."""
    services = getattr(request.app.state, "desk_services", None)
    if not isinstance(services, DeskServices):
        raise RuntimeError("no DeskServices bound to this app: call bind(app, services) first")
    return services


DeskDep = Annotated[DeskServices, Depends(desk_services)]


def sessions(desk: DeskDep) -> Sessions:
    """The store's session factory."""
    return desk.sessions


def temporal(desk: DeskDep) -> Client:
    """The Temporal client."""
    return desk.temporal


def updates(desk: DeskDep) -> DeskUpdates:
    """Temporal Updates under the configured deadline (``api_update_timeout_seconds``)."""
    deadline = timedelta(seconds=desk.settings.api_update_timeout_seconds)
    return DeskUpdates(desk.temporal, deadline)


def ops(desk: DeskDep) -> OpsConfig:
    """The operations configuration (departments, time zone, policies)."""
    return desk.ops


def settings(desk: DeskDep) -> Settings:
    """The process's settings."""
    return desk.settings


def today(desk: DeskDep) -> date:
    """Today in the credit union's time zone: the day "overdue" is judged against."""
    return local_today(desk.ops, desk.clock())


SessionsDep = Annotated[Sessions, Depends(sessions)]
TemporalDep = Annotated[Client, Depends(temporal)]
UpdatesDep = Annotated[DeskUpdates, Depends(updates)]
OpsDep = Annotated[OpsConfig, Depends(ops)]
SettingsDep = Annotated[Settings, Depends(settings)]
TodayDep = Annotated[date, Depends(today)]
