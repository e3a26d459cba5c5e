"""``memberflow trackers``: Tracker batch commands (each in its own module, registered here)."""

from __future__ import annotations

import typer

from workers.app.cli_mass_trackers import register as register_mass
from workers.app.cli_purge import register as register_purge

trackers_app = typer.Typer(help="Trackers: batch tools and purges.")
register_mass(trackers_app)
register_purge(trackers_app)
