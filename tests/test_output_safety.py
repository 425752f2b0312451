"""``--out`` never removes or modifies anything neurosim did not write (issue 12 item 1).

Every case runs against real folders in ``tmp_path``: the refused path and its neighbours are snapshotted
(every file's bytes, every link's target) before and compared after.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import time

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from neurosim.exceptions import InputError, OutputPathError
from neurosim.reports.cli import main
from neurosim.reports.writer import MANIFEST_NAME, MANIFEST_SCHEMA, check_output_path, write_report_folder

REPO = Path(__file__).resolve().parents[1]


def snapshot(root: Path) -> dict[str, object]:
    """Every entry under ``root`` (itself included): file bytes, link targets, folder markers."""
    out: dict[str, object] = {}
    if os.path.islink(root):
        return {".": ("link", os.readlink(root))}
    if root.is_file():
        return {".": root.read_bytes()}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        out[base.relative_to(root).as_posix() + "/"] = "dir"
        for name in dirnames + filenames:
            p = base / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_file():
                out[rel] = p.read_bytes()
    return out


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


REPORT = {"summary.json": b"{}\n", "k_sweep.csv": b"k\n3\n"}


# ---------------------------------------------------------------------------------------------- refusals


def test_current_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "model.py").write_text("print('mine')\n")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "sweep-k", "--out", ".")
    assert code == 1
    assert err.count("\n") == 1 and "refusing" in err and str(tmp_path) in err and "--out" in err
    assert "bug" not in err
    assert snapshot(tmp_path) == before


def test_parent_of_current_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(OutputPathError, match="current directory"):
        write_report_folder("..", REPORT)


def test_empty_out_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "model.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "sweep-k", "--out", "")
    assert code == 1 and "empty" in err and "bug" not in err
    assert snapshot(tmp_path) == before


def test_user_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    thesis = tmp_path / "thesis"
    (thesis / "chapters").mkdir(parents=True)
    (thesis / "chapters" / "ch1.tex").write_text("\\chapter{One}\n")
    (thesis / "notes.txt").write_text("notes\n")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "sweep-k", "--out", str(thesis))
    assert code == 1 and "did not write" in err and str(thesis) in err
    assert snapshot(tmp_path) == before


def test_existing_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "myfile.txt"
    f.write_text("precious\n")
    with pytest.raises(OutputPathError, match="existing file"):
        write_report_folder(f, REPORT)
    assert f.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["myfile.txt"]


def test_checkpoint_folder_and_its_parent_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "models" / "ckpt"
    ckpt.mkdir(parents=True)
    (ckpt / "config.json").write_text("{}")
    (ckpt / "model.safetensors").write_bytes(b"\0" * 16)
    before = snapshot(tmp_path)
    for out in (ckpt, ckpt.parent):
        code, _, err = run_cli(capsys, "--checkpoint", str(ckpt), "--out", str(out))
        assert code == 1 and "refusing" in err
    assert snapshot(tmp_path) == before


def test_parent_of_activations_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "acts.npy").write_bytes(b"not really")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "sweep-k", "--activations", str(data / "acts.npy"), "--out", str(data))
    assert code == 1 and "refusing" in err
    assert snapshot(tmp_path) == before


def test_input_inside_an_earlier_report_is_refused(tmp_path: Path) -> None:
    out = write_report_folder(tmp_path / "r", REPORT)
    before = snapshot(tmp_path)
    # Even a folder neurosim wrote may not be replaced while the run reads from it.
    with pytest.raises(OutputPathError, match="input"):
        write_report_folder(out, REPORT, inputs=[out / "k_sweep.csv"])
    assert snapshot(tmp_path) == before


def test_symlink_to_user_folder_is_refused_and_target_kept(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "data.txt").write_text("keep\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    before = snapshot(tmp_path)
    with pytest.raises(OutputPathError, match=str(target)):
        write_report_folder(link, REPORT)
    assert snapshot(tmp_path) == before


def test_symlink_to_report_is_resolved_and_link_kept(tmp_path: Path) -> None:
    real = write_report_folder(tmp_path / "real", {"summary.json": b"old\n"})
    link = tmp_path / "link"
    link.symlink_to(real)
    out = write_report_folder(link, {"summary.json": b"new\n"})
    assert out == real.resolve() and link.is_symlink() and os.readlink(link) == str(real)
    assert (link / "summary.json").read_bytes() == b"new\n"


def test_symlink_inside_report_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep\n")
    out = write_report_folder(tmp_path / "r", REPORT)
    (out / "evil").symlink_to(victim)  # not listed in the marker: the folder is no longer only ours
    before = snapshot(tmp_path)
    with pytest.raises(OutputPathError):
        write_report_folder(out, REPORT)
    assert snapshot(tmp_path) == before


def test_home_and_root_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(OutputPathError, match="home"):
        check_output_path(home)
    with pytest.raises(OutputPathError, match="home"):
        check_output_path("~")
    with pytest.raises(OutputPathError, match="root"):
        check_output_path("/")
    with pytest.raises(OutputPathError):  # a system file: refused as an existing file, never replaced
        check_output_path("/etc/passwd")


def test_report_with_a_foreign_file_is_refused(tmp_path: Path) -> None:
    out = write_report_folder(tmp_path / "r", REPORT)
    (out / "my-notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    with pytest.raises(OutputPathError, match="marker does not list"):
        write_report_folder(out, REPORT)
    assert snapshot(tmp_path) == before


def test_forged_or_corrupt_marker_is_not_ours(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "file.txt").write_text("mine\n")
    (d / MANIFEST_NAME).write_text("not json")
    with pytest.raises(OutputPathError):
        write_report_folder(d, REPORT)
    (d / MANIFEST_NAME).write_text(json.dumps({"schema": "other", "files": ["file.txt"]}))
    with pytest.raises(OutputPathError):
        write_report_folder(d, REPORT)
    assert (d / "file.txt").read_text() == "mine\n"


@pytest.mark.parametrize("name", ["../escape.txt", "/abs.txt", MANIFEST_NAME, "", "a/../b"])
def test_file_names_stay_inside_the_report(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError):
        write_report_folder(tmp_path / "r", {name: b"x"})
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- replacing


def test_new_empty_and_own_folders_are_written(tmp_path: Path) -> None:
    out = write_report_folder(tmp_path / "a" / "b", REPORT)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["schema"] == MANIFEST_SCHEMA and manifest["files"] == sorted(REPORT)
    (tmp_path / "empty").mkdir()
    write_report_folder(tmp_path / "empty", {"x/y.csv": b"1\n"})
    assert (tmp_path / "empty" / "x" / "y.csv").read_bytes() == b"1\n"
    write_report_folder(out, {"summary.json": b"2\n"})  # replaces: k_sweep.csv is gone
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "summary.json"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]  # no staging left


def test_cli_overwrites_its_own_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    for _ in range(2):
        code, _, err = run_cli(capsys, "sweep-k", "--tokens", "4", "--ks", "3", "--out", str(out))
        assert code == 0, err
    listed = json.loads((out / MANIFEST_NAME).read_text())["files"]
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST_NAME) == sorted(listed)


def test_leftover_staging_is_cleaned_only_when_ours(tmp_path: Path) -> None:
    out = write_report_folder(tmp_path / "r", REPORT)
    ours_tmp = tmp_path / ".r.abc123.tmp"
    ours_tmp.mkdir()
    (ours_tmp / MANIFEST_NAME).write_text(json.dumps({"schema": MANIFEST_SCHEMA, "files": ["summary.json"]}))
    (ours_tmp / "summary.json").write_text("{}")
    ours_old = tmp_path / ".r.zzz.old"
    ours_old.mkdir()  # a run killed right after creating it
    user_tmp = tmp_path / ".r.mine.tmp"  # our naming, not our marker: a user's folder
    user_tmp.mkdir()
    (user_tmp / "thesis.tex").write_text("mine\n")
    user_link = tmp_path / ".r.link.tmp"
    user_link.symlink_to(out)
    write_report_folder(out, REPORT)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".r.link.tmp", ".r.mine.tmp", "r"]
    assert (user_tmp / "thesis.tex").read_text() == "mine\n"


_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    real = Path.write_bytes
    n = {"n": 0}
    def slow(self, data):
        n["n"] += 1
        if n["n"] == 3:
            print("staging", flush=True)
            time.sleep(60)
        return real(self, data)
    Path.write_bytes = slow
    from neurosim.reports.writer import write_report_folder
    write_report_folder(sys.argv[1], {f"f{i}.csv": b"new" for i in range(5)})
""")


def test_kill_9_while_writing_then_next_run_recovers(tmp_path: Path) -> None:
    out = write_report_folder(tmp_path / "r", {"summary.json": b"old\n"})
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)], stdout=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "staging"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert (out / "summary.json").read_bytes() == b"old\n"  # a reader still sees the old report
    assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # the killed run's staging
    write_report_folder(out, {"summary.json": b"new\n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert (out / "summary.json").read_bytes() == b"new\n"


_CONCURRENT_WRITER = textwrap.dedent("""
    import sys
    from neurosim.reports.writer import write_report_folder
    tag = sys.argv[2].encode()
    for _ in range(15):
        write_report_folder(sys.argv[1], {f"f{i}.csv": tag * 1000 for i in range(20)})
    print("done")
""")


def test_concurrent_writers_both_succeed(tmp_path: Path) -> None:
    out = tmp_path / "r"
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT_WRITER, str(out), tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path) for tag in ("a", "b")]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1] for r in results]
    contents = {(out / f"f{i}.csv").read_bytes() for i in range(20)}
    assert contents in ({b"a" * 1000}, {b"b" * 1000})  # one writer's report, never a mix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


# ---------------------------------------------------------------------------------------------- property


_names = st.sampled_from(["a", "b", "c.txt", "summary.json", MANIFEST_NAME])


@st.composite
def trees(draw: st.DrawFn) -> dict[str, object]:
    """A small directory tree: path -> bytes, with maybe a marker listing some (or more) of its files."""
    files: dict[str, bytes] = {}
    for _ in range(draw(st.integers(0, 4))):
        parts = draw(st.lists(st.sampled_from(["a", "b", "c.txt", "summary.json"]), min_size=1, max_size=3))
        files["/".join(parts)] = draw(st.binary(max_size=8))
    # Drop paths that collide with a folder of another path.
    keys = sorted(files)
    files = {k: v for k, v in files.items() if not any(o.startswith(k + "/") for o in keys)}
    marker = draw(st.sampled_from(["none", "subset", "all", "corrupt"]))
    if marker != "none":
        listed = sorted(files) if marker == "all" else sorted(f for f in files if draw(st.booleans()))
        files[MANIFEST_NAME] = (b"{" if marker == "corrupt" else
                                json.dumps({"schema": MANIFEST_SCHEMA, "files": listed}).encode())
    kind = draw(st.sampled_from(["folder", "folder", "file", "missing"]))
    return {"files": files, "kind": kind, "marker": marker}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees())
def test_refusal_rule_over_generated_trees(tmp_path_factory: pytest.TempPathFactory, tree: dict) -> None:
    root = tmp_path_factory.mktemp("tree")
    (root / "sibling.txt").write_text("beside\n")
    target = root / "out"
    files: dict[str, bytes] = tree["files"]
    if tree["kind"] == "file":
        target.write_bytes(b"a file")
    elif tree["kind"] == "folder":
        target.mkdir()
        for rel, data in files.items():
            p = target / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    user_files = {k for k in files if k != MANIFEST_NAME}
    listed: set[str] = set()
    if tree["marker"] in ("subset", "all") and tree["kind"] == "folder":
        listed = set(json.loads(files[MANIFEST_NAME])["files"])
    before = snapshot(root)
    allowed = (tree["kind"] == "missing"
               or (tree["kind"] == "folder" and (not files or (tree["marker"] in ("subset", "all")
                                                                and user_files <= listed))))
    try:
        write_report_folder(target, REPORT)
    except OutputPathError:
        assert not allowed
        assert snapshot(root) == before  # refused: nothing touched
    else:
        assert allowed
        after = snapshot(root)
        assert after["sibling.txt"] == b"beside\n"
        assert set(after) == {"./", "sibling.txt", "out/", "out/summary.json", "out/k_sweep.csv",
                              f"out/{MANIFEST_NAME}"}
