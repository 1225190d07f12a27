"""`--json` is for machines: stdout holds one JSON document and nothing else, and the model's loading
progress bars reach stderr only when stderr is a terminal. The real `casepilot` command, in a subprocess,
over the slice index."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# What a tqdm bar ("Loading weights:  100%|####| 103/103 [00:00<00:00, 4993.57it/s]") leaves in a stream.
BAR_MARKS = ("Loading weights", "it/s]", "%|", "\r")


def casepilot_command() -> list[str]:
    exe = Path(sys.executable).with_name("casepilot")  # the installed entry point, as a user runs it
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "casepilot.cli"]


def run_cli(settings, cwd: Path, *args: str, stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    """stdout and stderr decoded as they are (text=True would turn a bar's carriage returns into newlines)."""
    env = {**os.environ, "CASEPILOT_DATA_DIR": str(settings.data_dir)}
    r = subprocess.run([*casepilot_command(), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=stderr, timeout=300)
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(),
                                       r.stderr.decode(errors="replace") if r.stderr is not None else None)


def assert_no_bar(stderr: str) -> None:
    assert not any(m in stderr for m in BAR_MARKS), f"progress output on a non-terminal stderr: {stderr!r}"


@pytest.mark.parametrize("args,status,check", [
    (["search", "type 2 diabetes with CKD", "--system", "icd10cm", "-k", "3", "--json"], 0,
     lambda d: d["hits"] and d["hits"][0]["collection"] == "icd10cm"),
    (["search", "e11.22 and its CKD stage", "--json"], 0,
     lambda d: any(e["code"] == "E11.22" for e in d["exact"]) and d["hits"]),
    (["lookup", " e11.22 ", "--json"], 0, lambda d: d["code"] == "E11.22" and d["billable"] is True),
    (["lookup", "E11.99", "--json"], 1, lambda d: d["error"]["code"] == "code_not_found"),
], ids=["search", "search-exact", "lookup", "lookup-not-found"])
def test_json_stdout_is_only_json_and_stderr_has_no_progress_bar(slice_index, tmp_path, args, status, check):
    r = run_cli(slice_index, tmp_path, *args)
    assert r.returncode == status, r.stderr
    data = json.loads(r.stdout)  # the whole of stdout, not a line of it
    assert check(data), data
    assert_no_bar(r.stderr)


def test_progress_bar_goes_to_a_terminal_stderr_never_to_stdout(slice_index, tmp_path):
    """A person at a terminal still sees the model load, on stderr; stdout stays pure JSON."""
    master, slave = pty.openpty()
    # 24 rows, 100 columns: in a 0x0 terminal (a new pty's size) tqdm draws a bar of width 0.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO once the child has exited and the terminal is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        r = run_cli(slice_index, tmp_path, "search", "type 2 diabetes with CKD", "-k", "2", "--json", stderr=slave)
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    terminal = b"".join(chunks).decode(errors="replace")
    assert r.returncode == 0, terminal
    assert json.loads(r.stdout)["hits"]
    assert_no_bar(r.stdout)
    assert "Loading weights" in terminal, terminal
