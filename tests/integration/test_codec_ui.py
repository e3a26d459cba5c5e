"""The local stack's Temporal Web UI is told where the codec server is (docs/security.md)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from deploy.processes import free_port, stop_process_group
from deploy.stack import STATE_FILE, LocalStack, ServerState, StackState, load_state
from deploy.temporal import TemporalDevServer

pytestmark = pytest.mark.integration


def test_the_web_ui_announces_the_codec_endpoint(tmp_path: Path) -> None:
    codec = f"http://127.0.0.1:{free_port()}"
    server = TemporalDevServer(
        home=tmp_path, port=free_port(), ui_port=free_port(), persistent=False, codec_endpoint=codec
    )
    pid = server.start()
    try:
        settings = httpx.get(f"http://127.0.0.1:{server.ui_port}/api/v1/settings", timeout=10)
    finally:
        stop_process_group(pid)
    assert settings.status_code == 200
    assert settings.json()["Codec"]["Endpoint"] == codec


def test_a_headless_server_gets_no_codec_endpoint(tmp_path: Path) -> None:
    server = TemporalDevServer(home=tmp_path, port=1, ui_port=None, codec_endpoint="http://x")
    assert "--ui-codec-endpoint" not in server.command()


def test_stack_env_names_key_files_codec_port_and_ui_origin(tmp_path: Path) -> None:
    for name in ("payload-keys", "search-hash-key"):
        (tmp_path / name).write_text("x")
    ui = ServerState("temporal-ui", "127.0.0.1", 18999, 1, 0.0, "log")
    state = StackState(state_dir=str(tmp_path), servers={"temporal-ui": ui}, codec_port=18998)
    env = state.env()
    assert env["MEMBERFLOW_TEMPORAL_PAYLOAD_KEYS_FILE"] == str(tmp_path / "payload-keys")
    assert env["MEMBERFLOW_TEMPORAL_SEARCH_HASH_KEY_FILE"] == str(tmp_path / "search-hash-key")
    assert env["MEMBERFLOW_CODEC_PORT"] == "18998"
    assert env["MEMBERFLOW_CODEC_CORS_ORIGINS"].split(",")[0] == "http://127.0.0.1:18999"


def test_status_lists_the_codec_server_as_one_line_per_server(tmp_path: Path) -> None:
    codec = ServerState("codec-server", "127.0.0.1", 18998, 999_999_999, 0.5, "log")
    state = StackState(state_dir=str(tmp_path), servers={"codec-server": codec}, codec_port=18998)
    (tmp_path / STATE_FILE).write_text(
        json.dumps(
            {
                "state_dir": str(tmp_path),
                "servers": {"codec-server": codec.__dict__},
                "codec_port": 18998,
            }
        )
    )
    assert load_state(tmp_path) == state
    [row] = LocalStack(tmp_path).status()
    assert (row["name"], row["address"], row["running"]) == (
        "codec-server",
        "127.0.0.1:18998",
        False,
    )
