"""Bad flags and bad config files: exit code 2 with one clear line, never a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.mesh_proc.harness import REPO, http_request, meshd_command


def run_meshd(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*meshd_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO),
        stdin=subprocess.DEVNULL,
    )


def assert_usage_error(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("meshd: error:"), lines
    assert fragment in lines[0], lines


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--no-such-flag"], "unrecognized arguments"),
        (["run", "--gossip"], "expected one argument"),
        (["--gossip", "127.0.0.1:notaport"], "port must be a number"),
        (["--gossip", "127.0.0.1:70000"], "port out of range"),
        (["--api", "::1:80"], "IPv6"),
        (["--seed", "1.2.3.4:"], "port must be a number"),
        (["--log-level", "loud"], "log_level"),
        (["--profile", "space"], "profile"),
        (["--gossip", "0.0.0.0:7946"], "advertise"),
        (["--extension", "nocolon"], "MODULE:ATTRIBUTE"),
        (["--config", "/nonexistent/meshd.toml"], "not found"),
        (["--key-file", "/nonexistent/keys"], "key file"),
        (["--api-token-file", "/nonexistent/token"], "token file"),
    ],
)
def test_bad_flags_exit_2(args: list[str], fragment: str) -> None:
    assert_usage_error(run_meshd(*args), fragment)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("host_id = \n", "invalid TOML"),
        ('colour = "blue"\n', "unknown config key"),
        ('gossip = "127.0.0.1:x"\n', "gossip"),
        ("seeds = 5\n", "seeds"),
        ("snapshot_interval = -1\n", "snapshot_interval"),
        ("leave_timeout = nan\n", "finite"),
        ("[mesh]\ngossip_interval = inf\n", "mesh.gossip_interval: must be a finite"),
        ("max_body_bytes = 1.5\n", "max_body_bytes"),
        ("[mesh]\nno_such_knob = 1\n", "not a MeshConfig field"),
        ('[mesh]\ngossip_interval = "fast"\n', "mesh.gossip_interval"),
        ("[extensions.ghost]\nrequired = true\n", "required extension ghost"),
        ('[extensions]\nload = ["x"]\n', "MODULE:ATTRIBUTE"),
        ('[extensions]\nentry_points = "no"\n', "extensions.entry_points"),
    ],
)
def test_bad_config_exit_2(tmp_path: Path, text: str, fragment: str) -> None:
    cfg = tmp_path / "meshd.toml"
    cfg.write_text('api = "127.0.0.1:0"\ngossip = "127.0.0.1:0"\n' + text)
    assert_usage_error(run_meshd("--config", str(cfg)), fragment)


def test_bad_key_file_exit_2(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# comment\nnot-base64!!\n")
    assert_usage_error(run_meshd("--key-file", str(keys)), ":2: not base64")
    keys.write_text("AAAA\n")
    assert_usage_error(run_meshd("--key-file", str(keys)), "expected 16, 24 or 32")


def test_help_lists_run(tmp_path: Path) -> None:
    proc = run_meshd("--help")
    assert proc.returncode == 0
    assert "run" in proc.stdout
    proc = run_meshd("run", "--help")
    assert proc.returncode == 0
    assert "--seed" in proc.stdout


def test_json_logs_port_zero_and_sigint(tmp_path: Path) -> None:
    """Free ports picked by the OS are logged; every line is JSON; SIGINT stops cleanly."""
    proc = subprocess.Popen(
        [
            *meshd_command(),
            "--host-id",
            "j",
            "--gossip",
            "127.0.0.1:0",
            "--api",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--no-entry-points",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=str(REPO),
    )
    try:
        assert proc.stderr is not None
        first = json.loads(proc.stderr.readline())
        assert first["msg"] == "meshd started"
        host, port = first["api"].rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert int(first["gossip"].rsplit(":", 1)[1]) > 0
        resp = http_request(int(port), "GET", "/v1/members")
        assert [m["id"] for m in resp.json()] == ["j"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        rest = [json.loads(line) for line in proc.stderr.read().splitlines() if line.strip()]
        assert rest[-1]["msg"] == "meshd stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
