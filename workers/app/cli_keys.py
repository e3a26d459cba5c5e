"""``memberflow keys``: the payload encryption keys (list, rotate), docs/security.md."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from deploy.stack import apply_stack_env
from workers.platform.settings import TemporalSettings

keys_app = typer.Typer(help="Payload encryption keys: list them, rotate to a new one.")


def _key_file() -> Path:
    """The key file named by the settings (the local stack's by default)."""
    apply_stack_env(Path(os.environ.get("MEMBERFLOW_STATE_DIR", ".state")))
    path = TemporalSettings().payload_keys_file
    if path is None:
        print(
            "no key file configured (MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE); keys held in "
            "MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS rotate by editing that variable"
        )
        raise typer.Exit(2)
    return path


@keys_app.command("list")
def keys_list() -> None:
    """The key ids held, oldest first; the last one encrypts. Key material is never printed."""
    from workers.platform.payload_codec import PayloadKeyError, load_keys

    try:
        keys = load_keys(TemporalSettings(payload_keys_file=_key_file(), payload_keys=None))
    except PayloadKeyError as exc:
        print(f"cannot read the keys: {exc}")
        raise typer.Exit(2) from exc
    for number, key in enumerate(keys, start=1):
        print(f"{key.key_id}{'  (encrypts)' if number == len(keys) else ''}")


@keys_app.command("rotate")
def keys_rotate(
    key_id: Annotated[
        str | None, typer.Option(help="Id of the new key (default: k<UTC time>)")
    ] = None,
) -> None:
    """Append a new key to the key file: it encrypts from each process's next start on.

    Older keys stay so existing histories decrypt; restart worker, bridge, API and codec server
    to encrypt with the new one (until then they keep the previous key, which stays valid).
    """
    from deploy.secrets import append_payload_key

    path = _key_file()
    try:
        new_id = append_payload_key(path, key_id)
    except (ValueError, OSError) as exc:
        print(f"cannot rotate {path}: {exc}")
        raise typer.Exit(2) from exc
    print(f"added key {new_id} to {path}; restart the processes to encrypt with it")
