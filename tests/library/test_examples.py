"""The examples as the README runs them: three processes each, real sockets, port 0."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _first_line(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            return line
        if proc.poll() is not None:
            break
    raise AssertionError(f"no output (exit {proc.poll()})")


def _three(script: str, names: list[str], extra: list[str]) -> list[str]:
    """Start the first, seed the other two with its printed address, wait for all."""
    cmd = [sys.executable, str(EXAMPLES / script)]
    procs: list[subprocess.Popen[str]] = []
    try:
        first = subprocess.Popen(
            [*cmd, names[0], "--bind", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        procs.append(first)
        line = _first_line(first)
        address = line.split(" on ")[1].split(",")[0].strip()
        for name in names[1:]:
            procs.append(
                subprocess.Popen(
                    [*cmd, name, "--bind", "127.0.0.1:0", "--seed", address, *extra],
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=REPO,
                )
            )
        outputs = []
        for proc in procs:
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode == 0, out
            outputs.append(out)
        return [line + outputs[0], *outputs[1:]]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_inventory_three_processes_see_each_others_items() -> None:
    outputs = _three("inventory.py", ["alpha", "beta", "gamma"], ["--until", "3"])
    for name, out in zip(["alpha", "beta", "gamma"], outputs, strict=True):
        assert f"[{name}] sees 3 members' items" in out, out
        assert "alpha-widgets=" in out and "gamma-widgets=" in out


def test_discovery_three_processes_see_three_healthy_endpoints() -> None:
    outputs = _three("discovery.py", ["web-1", "web-2", "web-3"], ["--until", "3"])
    for name, out in zip(["web-1", "web-2", "web-3"], outputs, strict=True):
        assert f"[{name}] sees 3 healthy endpoints" in out, out


def test_three_replicas_converge() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "three_replicas.py")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stdout + out.stderr


class _Lines:
    """A running example's stdout, read line by line with a bounded wait."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        self.seen: list[str] = []

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        assert self.proc.stdout is not None
        for line in self.seen:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed; got:\n{''.join(self.seen)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_inventory_processes_leave_and_keys_keep_meshes_apart(tmp_path: Path) -> None:
    import base64
    import os

    script = str(EXAMPLES / "inventory.py")
    runs: list[_Lines] = []
    try:
        alpha = _Lines([script, "alpha", "--restock", "0.3"])
        runs.append(alpha)
        address = alpha.wait_for("listening on").split(" on ")[1].strip()
        for name in ("beta", "gamma"):
            runs.append(_Lines([script, name, "--seed", address, "--restock", "0.3"]))
        beta, gamma = runs[1], runs[2]
        for run in runs:
            run.wait_for("beta-widgets=")
            run.wait_for("gamma-widgets=")
        for run in (alpha, beta):
            run.wait_for("member gamma is alive")
        gamma.proc.terminate()
        assert gamma.proc.wait(20) == 0
        for run in (alpha, beta):
            run.wait_for("member gamma is left")
        key = tmp_path / "other.key"
        key.write_text(base64.b64encode(os.urandom(16)).decode() + "\n")
        stranger = _Lines(
            [script, "stranger", "--seed", address, "--key-file", str(key), "--until", "2"]
        )
        runs.append(stranger)
        stranger.wait_for("listening on")
        time.sleep(2.0)  # several gossip rounds: it must still see only its own item
        assert stranger.proc.poll() is None
        assert not any("alpha-widgets" in line for line in stranger.seen + _drain(stranger))
        assert not any("stranger" in line for line in alpha.seen)
    finally:
        for run in runs:
            run.stop()


def _drain(run: _Lines) -> list[str]:
    """Whatever the process printed so far without blocking (it is then killed)."""
    run.stop()
    assert run.proc.stdout is not None
    rest = run.proc.stdout.read().splitlines()
    return rest
