"""Hostile work trees against host git: attributes, sizes, links, repositories, file floods, hung git."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sandbox import git as hostgit
from sandbox import gitproc, worktree
from sandbox.diffcheck import FileChange, PathPolicy, check_diff
from tests.test_git_workspace import BOT, make_remote, remote_branches, sh

pytestmark = pytest.mark.anyio

DOCS = PathPolicy(allowed=("docs/**", "*.md"), max_files=50, max_lines=2000)
MiB = 1024**2


@pytest.fixture
async def ws(tmp_path: Path) -> hostgit.Workspace:
    bare, commit = make_remote(tmp_path)
    return await hostgit.clone(
        bare.as_uri(), commit, root=tmp_path / "run", branch="steward/docs/7", ref="main"
    )


def bare_of(ws: hostgit.Workspace) -> Path:
    return Path(ws.url.removeprefix("file://"))


async def refused(ws: hostgit.Workspace, policy: PathPolicy = DOCS) -> str:
    with pytest.raises(hostgit.DiffRefusedError) as caught:
        await hostgit.commit_and_push(ws, policy=policy, run_id="run-1", message="m", identity=BOT)
    assert remote_branches(bare_of(ws)) == ["main"]
    return str(caught.value)


def staged(ws: hostgit.Workspace) -> str:
    """What host git has put in the index: empty when git add never ran."""
    return sh(
        "git", f"--git-dir={ws.git_dir}", f"--work-tree={ws.work_tree}", "diff", "--cached", "--name-only"
    )


@pytest.mark.parametrize(
    ("where", "attributes"),
    [
        ("docs/.gitattributes", "*.md -diff"),
        ("docs/.gitattributes", "*.md binary"),
        (".gitattributes", "[attr]hidden -diff -text\n*.md hidden"),
    ],
)
async def test_repository_attributes_do_not_change_the_line_count(
    ws: hostgit.Workspace, where: str, attributes: str
) -> None:
    (ws.work_tree / where).write_text(attributes + "\n")
    (ws.work_tree / "docs" / "big.md").write_text("".join(f"line {n}\n" for n in range(5000)))
    found = {c.path: c for c in await hostgit.changes(ws)}
    assert not found["docs/big.md"].binary and found["docs/big.md"].added == 5000
    total = 5000 + len(attributes.splitlines())  # the .gitattributes file's own lines count too
    assert f"It changes {total} lines; the limit is 2000." in await refused(ws)


async def test_a_nul_byte_makes_a_file_binary_and_it_counts_by_bytes(ws: hostgit.Workspace) -> None:
    (ws.work_tree / "docs" / "logo.png").write_bytes(b"\x89PNG\0" + b"x\n" * 1000)
    (change,) = await hostgit.changes(ws)
    assert (change.binary, change.added, change.bytes) == (True, 0, 2005)


LINES = b"".join(b"line %d\n" % n for n in range(20_000))


async def tracked(tmp_path: Path, path: str, content: bytes) -> hostgit.Workspace:
    """A workspace whose commit already holds `path` with `content`."""
    bare, _ = make_remote(tmp_path)
    seed = tmp_path / "seed"
    (seed / path).parent.mkdir(parents=True, exist_ok=True)
    (seed / path).write_bytes(content)
    sh("git", "-C", str(seed), "add", "-A")
    sh("git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", path)
    sh("git", "-C", str(seed), "push", "-q", str(bare), "main")
    commit = sh("git", "-C", str(seed), "rev-parse", "HEAD").strip()
    return await hostgit.clone(
        bare.as_uri(), commit, root=tmp_path / "run", branch="steward/docs/7", ref="main"
    )


async def test_one_nul_byte_does_not_hide_a_20000_line_rewrite(ws: hostgit.Workspace) -> None:
    (ws.work_tree / "docs" / "guide.md").write_bytes(b"\0" + LINES)  # a tracked text file, rewritten
    (change,) = await hostgit.changes(ws)
    assert (change.binary, change.text_to_binary, change.removed) == (True, True, 1)  # "Guide\n" went
    assert change.bytes == len(LINES) + 1
    message = await refused(ws)
    assert "It turns text files into binary ones, which a reviewer cannot read: docs/guide.md." in message


async def test_a_large_text_file_made_binary_counts_its_old_lines_as_removed(tmp_path: Path) -> None:
    ws = await tracked(tmp_path, "docs/long.md", LINES)
    (ws.work_tree / "docs" / "long.md").write_bytes(b"\0")
    (change,) = await hostgit.changes(ws)
    assert (change.added, change.removed, change.bytes) == (0, 20_000, 1)
    message = await refused(ws)
    assert "It changes 20000 lines; the limit is 2000." in message and "binary ones" in message


async def test_a_binary_file_made_text_counts_its_new_lines(tmp_path: Path) -> None:
    ws = await tracked(tmp_path, "docs/blob.dat", b"\0\1\2")
    (ws.work_tree / "docs" / "blob.dat").write_bytes(LINES)
    (change,) = await hostgit.changes(ws)
    assert (change.binary, change.text_to_binary, change.added, change.removed) == (False, False, 20_000, 0)
    assert "It changes 20000 lines; the limit is 2000." in await refused(ws)


async def test_a_binary_file_rewritten_as_binary_still_counts_by_bytes(tmp_path: Path) -> None:
    ws = await tracked(tmp_path, "docs/logo.png", b"\x89PNG\0old")
    (ws.work_tree / "docs" / "logo.png").write_bytes(b"\x89PNG\0" + b"x\n" * 1000)
    (change,) = await hostgit.changes(ws)
    assert (change.binary, change.text_to_binary, change.added, change.removed) == (True, False, 0, 0)
    assert change.bytes == 2005
    assert check_diff([change], DOCS).ok


@pytest.mark.parametrize(
    ("where", "what"),
    [
        ("docs/.gitattributes", "*.md linguist-generated"),  # review folds the diff away
        ("docs/.GitAttributes", "*.md export-ignore"),
        ("docs/.gitmodules", '[submodule "x"]\n\tpath = x\n\turl = https://attacker.example/x'),
    ],
)
async def test_files_that_steer_git_or_review_are_never_written(
    ws: hostgit.Workspace, where: str, what: str
) -> None:
    (ws.work_tree / where).write_text(what + "\n")
    (ws.work_tree / "docs" / "guide.md").write_text("Guide\nMore.\n")
    wide = PathPolicy(allowed=("**",), max_files=50, max_lines=2000)  # even a policy that allows everything
    assert f"It touches paths Steward may never change: {where}." in await refused(ws, wide)


async def test_a_30_mb_single_line_file_is_refused_by_its_size(ws: hostgit.Workspace) -> None:
    (ws.work_tree / "docs" / "one-line.md").write_bytes(b"x" * (30 * MiB))
    message = await refused(ws)
    assert "docs/one-line.md (30 MiB)" in message and "1 MiB per file" in message
    assert staged(ws) == ""  # refused by the walk: git never hashed it
    verdict = check_diff([FileChange("docs/one-line.md", 1, 0, bytes=30 * MiB)], DOCS)
    assert "It writes 30 MiB; the limit is 5 MiB." in verdict.message(DOCS)  # the diff's own check agrees


async def test_a_20_mb_binary_is_refused_by_its_size(ws: hostgit.Workspace) -> None:
    (ws.work_tree / "docs" / "blob.bin").write_bytes(b"\0" + os.urandom(20 * MiB))
    assert "docs/blob.bin (20 MiB)" in await refused(ws)


async def test_many_files_each_under_the_file_limit_are_refused_by_the_diff_limit(
    ws: hostgit.Workspace,
) -> None:
    for n in range(6):
        (ws.work_tree / "docs" / f"part{n}.bin").write_bytes(b"\0" + bytes(MiB - 100))
    message = await refused(ws)
    assert "per file" not in message and "the limit is 5 MiB" in message


@pytest.mark.parametrize(
    ("path", "target"),
    [("docs/passwd.md", "/etc/passwd"), ("docs/ci.md", "../.github/workflows/ci.yml"), ("notes.md", "docs")],
)
async def test_a_symbolic_link_is_refused_before_git_reads_the_tree(
    ws: hostgit.Workspace, path: str, target: str
) -> None:
    (ws.work_tree / path).symlink_to(target)
    message = await refused(ws)
    assert f"symbolic links, which Steward never commits: {path}." in message
    assert staged(ws) == ""


async def test_a_gitlink_without_gitmodules_is_refused(ws: hostgit.Workspace) -> None:
    sub = ws.work_tree / "docs" / "sub"
    sub.mkdir()
    (sub / "a.md").write_text("a\n")
    sh("git", "init", "-q", str(sub))
    sh("git", "-C", str(sub), "add", "-A")
    sh("git", "-C", str(sub), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "x")
    assert "docs/sub/.git" in await refused(ws)
    assert staged(ws) == ""


async def test_a_gitlink_already_in_the_index_is_refused_by_its_mode() -> None:
    verdict = check_diff([FileChange("docs/sub", 0, 0, mode="160000")], DOCS)
    assert verdict.unsafe_paths == ["docs/sub (gitlink (a repository inside the repository))"]


def _untouched_since(path: Path) -> float:
    """Set atime well before mtime: under relatime, any read of the file moves it."""
    os.utime(path, (1_000_000, 2_000_000))
    return path.stat().st_atime


async def test_a_dot_git_file_pointing_at_a_host_repository_is_never_followed(
    ws: hostgit.Workspace, tmp_path: Path
) -> None:
    host_repo = tmp_path / "host-repo"
    sh("git", "init", "-q", str(host_repo))
    sh("git", "-C", str(host_repo), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q",
       "--allow-empty", "-m", "host")  # fmt: skip
    head, control = host_repo / ".git" / "HEAD", host_repo / ".git" / "description"
    before, control_before = _untouched_since(head), _untouched_since(control)
    control.read_bytes()
    if control.stat().st_atime == control_before:
        pytest.skip("this file system does not record access times")
    sub = ws.work_tree / "docs" / "trap"
    sub.mkdir()
    (sub / ".git").write_text(f"gitdir: {host_repo / '.git'}\n")
    (sub / "page.md").write_text("page\n")
    message = await refused(ws)
    assert "docs/trap/.git" in message and "host git must never read" in message
    assert head.stat().st_atime == before


@pytest.mark.parametrize("where", ["docs/nested/.git", ".git", "docs/.GIT"])
async def test_a_nested_dot_git_directory_is_refused(ws: hostgit.Workspace, where: str) -> None:
    (ws.work_tree / where).mkdir(parents=True)
    (ws.work_tree / where / "HEAD").write_text("ref: refs/heads/main\n")
    assert where in await refused(ws)
    assert staged(ws) == ""


async def test_a_flood_of_files_is_refused_fast_before_git_runs(
    ws: hostgit.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worktree, "MAX_ENTRIES", 5_000)
    flood = ws.work_tree / "docs" / "flood"
    flood.mkdir()
    for n in range(20_000):
        os.close(os.open(flood / f"{n}.md", os.O_CREAT | os.O_WRONLY))
    started = time.monotonic()
    message = await refused(ws)
    assert time.monotonic() - started < 2.0
    assert "more than 5,000 files and directories; git was not run" in message
    assert staged(ws) == ""


async def test_a_sparse_100_gib_file_is_refused_by_its_size_before_git_hashes_it(
    ws: hostgit.Workspace,
) -> None:
    _sparse(
        ws.work_tree / "docs" / "x.md"
    )  # no disk used: only git add would make it cost (reading it whole)
    started = time.monotonic()
    message = await refused(ws)
    assert time.monotonic() - started < 1.0
    assert "Files above the limit of 1 MiB per file: docs/x.md (100 GiB); git was not run." in message
    assert staged(ws) == ""


def _sparse(path: Path, size: int = 100 * 1024**3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as sparse:
        sparse.truncate(size)


async def test_a_large_file_git_ignores_is_no_reason_to_refuse(ws: hostgit.Workspace) -> None:
    _sparse(ws.work_tree / ".venv" / "lib" / "libtorch.so")  # Steward's own exclude list
    (ws.work_tree / "docs" / ".gitignore").write_text("site/\n")  # the repository's (here, the sandbox's)
    _sparse(ws.work_tree / "docs" / "site" / "search.json")
    (ws.work_tree / "docs" / "guide.md").write_text("Guide\nMore.\n")
    started = time.monotonic()
    assert sorted(c.path for c in await hostgit.changes(ws, max_file_bytes=MiB)) == [
        "docs/.gitignore",
        "docs/guide.md",
    ]
    assert time.monotonic() - started < 5.0  # git hashed neither


@pytest.mark.parametrize("name", [".gitignore", ".gitattributes"])
async def test_a_huge_file_git_reads_whole_is_refused_before_git_reads_it(
    ws: hostgit.Workspace, name: str
) -> None:
    _sparse(ws.work_tree / "docs" / "site" / name)
    message = await refused(ws)
    assert f"docs/site/{name} (100 GiB); git was not run." in message
    assert staged(ws) == ""


async def test_a_tracked_file_above_the_limit_left_as_it_was_is_no_reason_to_refuse(tmp_path: Path) -> None:
    ws = await tracked(tmp_path, "assets/video.bin", b"\0" * (2 * MiB))
    (ws.work_tree / "docs" / "guide.md").write_text("Guide\nMore.\n")
    assert [c.path for c in await hostgit.changes(ws, max_file_bytes=MiB)] == ["docs/guide.md"]
    with open(ws.work_tree / "assets" / "video.bin", "r+b") as grown:
        grown.truncate(5 * MiB)  # beyond twice what the commit held: refused before git reads it
    with pytest.raises(hostgit.DiffRefusedError, match=r"assets/video.bin \(5 MiB\); git was not run"):
        await hostgit.changes(ws, max_file_bytes=MiB)


async def test_a_hung_git_command_is_killed_at_its_time_limit(
    ws: hostgit.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gitproc, "LOCAL_TIMEOUT", 0.5)
    marker = "37.123"  # a sleep only this test starts, so its survival can be looked for
    slow = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "alias.slow",
        "GIT_CONFIG_VALUE_0": f"!sleep {marker}",
    }
    started = time.monotonic()
    with pytest.raises(hostgit.GitError, match=r"git slow ran out of time: it was killed after 0.5 s"):
        await hostgit._git(ws.root, ws.git_dir, ws.work_tree, "slow", env=slow)
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    survivors = [
        p for p in Path("/proc").glob("[0-9]*/cmdline") if _cmdline(p).endswith(f"sleep\0{marker}\0")
    ]
    assert survivors == []


def _cmdline(path: Path) -> str:
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_a_refusal_of_twenty_thousand_paths_stays_short() -> None:
    found = [FileChange(f"src/module_{n}.py", 1, 0) for n in range(20_000)]
    message = check_diff(found, DOCS).message(DOCS)
    assert len(message) < 3_000
    assert "src/module_19.py and 19980 more." in message and "src/module_20.py" not in message


async def test_a_refusal_of_thousands_of_links_stays_short(ws: hostgit.Workspace) -> None:
    for n in range(3_000):
        (ws.work_tree / "docs" / f"l{n}.md").symlink_to("/etc/passwd")
    message = await refused(ws)
    assert len(message) < 3_000 and "and 2980 more" in message


async def test_a_pipe_or_socket_in_the_work_tree_is_refused(ws: hostgit.Workspace) -> None:
    os.mkfifo(ws.work_tree / "docs" / "pipe.md")
    assert "special files (devices, pipes, sockets): docs/pipe.md." in await refused(ws)


async def test_a_link_the_commit_itself_holds_is_no_reason_to_refuse(tmp_path: Path) -> None:
    bare, _ = make_remote(tmp_path)
    seed = tmp_path / "seed"
    (seed / "docs" / "latest.md").symlink_to("guide.md")
    sh("git", "-C", str(seed), "add", "-A")
    sh("git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "link")
    sh("git", "-C", str(seed), "push", "-q", str(bare), "main")
    commit = sh("git", "-C", str(seed), "rev-parse", "HEAD").strip()
    ws = await hostgit.clone(
        bare.as_uri(), commit, root=tmp_path / "run", branch="steward/docs/7", ref="main"
    )
    (ws.work_tree / "docs" / "guide.md").write_text("Guide\nMore.\n")
    assert [c.path for c in await hostgit.changes(ws)] == ["docs/guide.md"]
    (ws.work_tree / "docs" / "latest.md").unlink()
    (ws.work_tree / "docs" / "latest.md").symlink_to("/etc/passwd")  # re-pointed: the diff shows it
    assert "docs/latest.md (symbolic link)" in await refused(ws)
