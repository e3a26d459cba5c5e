"""``memberflow keys list|rotate``: ids only, never key material; rotation appends."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from deploy.secrets import ensure_payload_keys
from workers.app.cli import app


def test_rotate_appends_a_key_that_list_shows_as_the_encrypting_one(tmp_path: Path) -> None:
    keys = ensure_payload_keys(tmp_path / "payload-keys")
    env = {
        "MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE": str(keys),
        "MEMBERFLOW_STATE_DIR": str(tmp_path),
    }
    runner = CliRunner()
    rotated = runner.invoke(app, ["keys", "rotate", "--key-id", "k-second"], env=env)
    assert rotated.exit_code == 0, rotated.output
    listed = runner.invoke(app, ["keys", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2 and lines[1] == "k-second  (encrypts)"
    secrets = [line.split(":", 1)[1] for line in keys.read_text().splitlines()]
    assert not any(secret in rotated.output + listed.output for secret in secrets)


def test_rotate_without_a_key_file_says_so(tmp_path: Path) -> None:
    env: dict[str, str | None] = {
        "MEMBERFLOW_STATE_DIR": str(tmp_path),
        "MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE": None,
    }
    result = CliRunner().invoke(app, ["keys", "rotate"], env=env)
    assert result.exit_code == 2
    assert "no key file configured" in result.output
