"""The run's token reaches the git server, and nowhere else: not the workspace, not .git/config, not a log."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox import git as hostgit
from sandbox.diffcheck import PathPolicy
from tests.test_git_workspace import BOT, make_remote, remote_branches

pytestmark = pytest.mark.anyio

TOKEN = "ghs_TokenThatMustNeverBeWritten0123456789"


class _GitServer(BaseHTTPRequestHandler):
    """Smart HTTP through `git http-backend`, admitting only the expected Authorization header."""

    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.server.seen.append(auth)
        if auth != self.server.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=True
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "status":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def __init__(self, root: Path, expected: str) -> None:
        super().__init__(("127.0.0.1", 0), _GitServer)
        self.root, self.expected, self.seen = root, expected, list[str]()


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[tuple[_Server, str]]:
    bare, commit = make_remote(tmp_path)
    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    server = _Server(bare.parent, expected)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, commit
    server.shutdown()
    server.server_close()


def _all_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path, path.read_bytes()


async def test_token_reaches_only_the_git_process(
    git_server: tuple[_Server, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, commit = git_server
    url = f"http://127.0.0.1:{server.server_address[1]}/remote.git"
    caplog.set_level(logging.DEBUG)
    ws = await hostgit.clone(
        url, commit, root=tmp_path / "run", branch="steward/docs/9", token=TOKEN, ref="main"
    )
    (ws.work_tree / "docs" / "guide.md").write_text("Edited\n")
    sha = await hostgit.commit_and_push(
        ws, policy=PathPolicy(allowed=("docs/**",)), run_id="run-9", message="Docs", identity=BOT, token=TOKEN
    )
    assert sha is not None
    assert "steward/docs/9" in remote_branches(server.root / "remote.git")
    assert server.seen and set(server.seen) == {server.expected}  # every request carried it
    encoded = server.expected.split()[1]
    for path, data in _all_bytes(ws.root):  # the work tree and the git directory, .git/config included
        assert TOKEN.encode() not in data, path
        assert encoded.encode() not in data, path
    assert (ws.git_dir / "config").read_text().count("127.0.0.1") == 1  # the remote URL, without credentials
    assert TOKEN not in caplog.text and encoded not in caplog.text
    assert caplog.records  # the clone and push were logged, just without the token


async def test_a_refused_token_fails_without_showing_it(
    git_server: tuple[_Server, str], tmp_path: Path
) -> None:
    server, commit = git_server
    url = f"http://127.0.0.1:{server.server_address[1]}/remote.git"
    with pytest.raises(hostgit.GitError) as failed:
        await hostgit.clone(url, commit, root=tmp_path / "run", branch="b", token="ghs_wrong_" + TOKEN)
    assert TOKEN not in str(failed.value)
    assert "fetch failed" in str(failed.value)
