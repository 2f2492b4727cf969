"""The setup phase: which install step a run takes; it reaches the allowlisted index and nothing else."""

from __future__ import annotations

import io
import threading
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import docker
import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config.loader import parse_config
from jobs.ledger import Ledger
from jobs.plan import SetupStep
from jobs.runs import registry
from jobs.runs.setup import Phase, choose, detect, run_setup, sandbox_options
from sandbox import egress
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401
from tests.test_egress import PUBLIC, FakeNet

pytestmark = pytest.mark.anyio
INDEX_HOST = "pkgs.example.test"
OTHER_HOST = "other.example.test"
WHEEL = "stewardprobe-1.0-py3-none-any.whl"


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "command", "why"),
    [
        ({"pyproject.toml": "[project]\nname='a'\n", "uv.lock": "version = 1\n"}, "uv export", "uv.lock"),
        (
            {"pyproject.toml": "[project]\nname='a'\n[project.optional-dependencies]\ntest=['x']\ndoc=['y']"},
            "pip install --no-build-isolation '/tmp/steward-src/.[test]'",
            "extras: test",
        ),
        (
            {"setup.py": "from setuptools import setup\nsetup()\n"},
            "pip install --no-build-isolation /tmp/steward-src/.",
            "setup",
        ),
        (
            {"requirements.txt": "x\n", "requirements/dev.txt": "y\n"},
            "pip install -r requirements.txt -r requirements/dev.txt",
            "requirements.txt, requirements/dev.txt",
        ),
        ({"README.md": "hi\n"}, "", "nothing to install"),
    ],
)
def test_the_install_step_is_detected_from_the_project_files(
    tmp_path: Path, files: dict[str, str], command: str, why: str
) -> None:
    found, reason = detect(_project(tmp_path, files))
    assert (command in found) if command else found == ""
    assert why in reason


def test_a_linked_pyproject_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text("[project]\nname='secret'\n")
    work = tmp_path / "ws"
    work.mkdir()
    (work / "pyproject.toml").symlink_to(outside)
    assert detect(work)[0] == ""


def test_the_configuration_wins_and_a_policy_without_network_has_no_setup_phase(tmp_path: Path) -> None:
    work = _project(tmp_path, {"pyproject.toml": "[project]\nname='a'\n"})
    tests = registry.get("tests")
    config = parse_config("setup:\n  install: make deps\n").config
    step = choose(work, config, tests, tests.policy(), ["pypi.org"])
    assert (step.command, step.hosts) == ("make deps", ["pypi.org"])
    assert "setup.install" in step.reason and step.cache_key
    own = parse_config(
        "setup:\n  install: make deps\nworkflows:\n  tests:\n    install: make test-deps\n"
    ).config
    assert choose(work, own, tests, tests.policy(), []).command == "make test-deps"
    closed = tests.policy().model_copy(update={"network": "none"})
    assert choose(work, config, tests, closed, ["pypi.org"]).command == ""
    assert sandbox_options(None, Phase())["network"] == "none"


def _wheel() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stewardprobe/__init__.py", "VALUE = 42\n")
        info = "stewardprobe-1.0.dist-info"
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: stewardprobe\nVersion: 1.0\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(
            f"{info}/RECORD",
            f"stewardprobe/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n",
        )
    return buffer.getvalue()


class _Index(BaseHTTPRequestHandler):
    """A PEP 503 simple index holding one wheel; counts the wheel downloads."""

    wheel = _wheel()
    downloads: list[str] = []

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/simple/stewardprobe":
            body = f'<a href="/files/{WHEEL}">{WHEEL}</a>'.encode()
            self._send(body, "text/html", "max-age=0")
        elif self.path == f"/files/{WHEEL}":
            type(self).downloads.append(self.path)
            self._send(self.wheel, "application/octet-stream", "max-age=365000000, immutable, public")
        else:
            self._send(b"not here", "text/plain", "no-store", 404)

    def _send(self, body: bytes, kind: str, cache: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def index() -> Iterator[int]:
    _Index.downloads = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


INSTALL = f"pip install --index-url http://{INDEX_HOST}/simple/ --trusted-host {INDEX_HOST} stewardprobe"
TRY_OTHER = (
    "python3 -c \"import urllib.request as u; u.urlopen('http://" + OTHER_HOST + "/', timeout=5)\" || true"
)
PROBE = "import socket; s = socket.socket(); s.settimeout(3); s.connect(('{host}', {port})); print('REACHED')"


async def _one_run(
    tmp_path: Path, image: str, client: docker.DockerClient, ledger: Ledger, name: str
) -> dict[str, str]:
    run = await ledger.create_run("o/r", 1, "tests", actor="test")
    step = SetupStep(command=f"{TRY_OTHER}; {INSTALL}", reason="test", hosts=[INDEX_HOST], cache_key="k")
    options = sandbox_options(step, Phase(tmp_path / "data", "o/r"))
    sandbox = DockerSandbox(
        sandbox_dir(tmp_path / name), Limits(command_timeout=60), run_id=f"test-setup-{uuid.uuid4().hex[:8]}",
        image=image, client=client, **options,
    )  # fmt: skip
    async with sandbox:
        assert sandbox._gateway is not None and sandbox._gateway.proxy is not None
        gateway, port = sandbox._gateway.proxy.address
        installed = await run_setup(sandbox, step, ledger, run.id)
        received = sandbox.proxy_traffic.received  # counted before the network was cut, kept after
        used = await sandbox.run(["python3", "-c", "import stewardprobe; print(stewardprobe.VALUE)"])
        proxy = await sandbox.run(["python3", "-c", PROBE.format(host=gateway, port=port)])
        fetch = await sandbox.run(
            ["python3", "-c", f"import urllib.request as u; u.urlopen('http://{INDEX_HOST}/', timeout=3)"]
        )
    steps = {s.name: s.output_excerpt for s in (await ledger.trace(run.id)).steps}
    return {
        "installed": str(installed.ok),
        "used": used.output.strip(),
        "proxy": proxy.output,
        "fetch": fetch.output,
        "received": str(received),
        "run": run.id,
        **steps,
    }


@pytest.mark.docker
async def test_setup_reaches_the_allowlisted_loopback_index_only_and_the_work_phase_nothing(
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    index: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = FakeNet({INDEX_HOST: [PUBLIC], OTHER_HOST: [PUBLIC]}, {(PUBLIC, 80): index})
    monkeypatch.setattr(egress, "resolve_host", net.resolve)
    monkeypatch.setattr(egress, "connect_to", net.connect)
    db = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    ledger = await Ledger.connect(db)
    try:
        first = await _one_run(tmp_path, sandbox_image, docker_client, ledger, "ws1")
        downloads_first = len(_Index.downloads)
        second = await _one_run(tmp_path, sandbox_image, docker_client, ledger, "ws2")
    finally:
        await ledger.close()
    assert first["installed"] == "True" and first["used"] == "42"  # installed in setup, importable after
    assert f"reached {INDEX_HOST}:80" in first["egress"]
    assert f"refused {OTHER_HOST}:80 (not in this sandbox's egress allowlist)" in first["egress"]
    assert "REACHED" not in first["proxy"] and "REACHED" not in first["fetch"]  # the work phase: nothing
    assert "Successfully installed stewardprobe" in first["setup"]
    assert downloads_first == 1
    assert second["used"] == "42" and len(_Index.downloads) == 1  # the second run's wheel came from the cache
    cold, warm = int(first["received"]), int(second["received"])
    assert warm > 0 and cold - warm >= len(_Index.wheel)  # the warm run fetched the index page only

    monkeypatch.setenv("STEWARD_DATABASE_URL", db)  # `steward runs show` on the ledger the real run made
    shown = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(app, ["runs", "show", first["run"]]).output
    )
    steps = shown.split("steps:")[1]
    assert (
        "1. setup phase: install step  [exit 0, " in steps
        and f"     command: {TRY_OTHER}; {INSTALL}\n" in steps
    )
    assert "2. setup phase: network  [1 host(s) reached, 1 refused; " in steps
    assert f"     reached  {INDEX_HOST}:80  (" in steps
    assert f"     REFUSED  {OTHER_HOST}:80 (not in this sandbox's egress allowlist)  (1 time)" in steps
