"""`verify` finds every kind of damage to an export, and nothing in a sound one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from export_helpers import ClipSpec, build_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feasstm_gui.cli import main as cli_main
from feasstm_gui.core.dataset.export import ExportOptions, export_dataset
from feasstm_gui.core.dataset.verify import verify
from feasstm_gui.core.errors import FeasstmError
from feasstm_gui.core.jobs import drive

A, B, C = "片段 一", "片段 二", "片段 三"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify") / "项目 一"
    b = build_project(folder, [
        ClipSpec(A, ["4", "4", "7", "-", "7"], actor="甲"),
        ClipSpec(B, ["1", "2", "2", "3"], actor="乙"),
        ClipSpec(C, ["6", "6", "5", "5"], actor="甲"),
    ])
    yield b.store
    b.store.close()


def export(store, out, **options) -> Path:
    drive(export_dataset(store, out, ExportOptions(**options)))
    return out


def reasons(out: Path) -> list[str]:
    return [f"{Path(p.path).relative_to(out).as_posix() if p.path != str(out) else '.'}:"
            f"{p.line}: {p.reason}" for p in verify(out)]


def rewrite(out: Path, rel: str, data: bytes) -> None:
    """Change a file and its manifest entry: only the structural checks can find it."""
    (out / rel).write_bytes(data)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    m["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (out / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")


def test_a_sound_export_has_no_problem(project, tmp_path):
    assert verify(export(project, tmp_path / "导出")) == []
    assert verify(export(project, tmp_path / "unl", include_unlabelled=True)) == []
    assert verify(export(project, tmp_path / "fan", format="emotion-fan")) == []
    assert verify(export(project, tmp_path / "actor", split_by="actor")) == []


def test_changed_missing_and_added_files(project, tmp_path):
    out = export(project, tmp_path / "导出")
    image = out / "faces" / A / "000002.jpg"
    data = bytearray(image.read_bytes())
    data[200] ^= 0xFF
    image.write_bytes(bytes(data))
    (out / "faces" / B / "000004.jpg").unlink()
    (out / "faces" / B / "extra.txt").write_text("x", encoding="utf-8")
    found = reasons(out)
    assert f"faces/{A}/000002.jpg:0: SHA-256 differs from the manifest: the file was changed " \
        "or damaged after the export" in found
    assert f"faces/{B}/000004.jpg:0: missing (listed in the manifest)" in found
    assert f"faces/{B}/extra.txt:0: not listed in the manifest (added after the export?)" in found
    assert f"faces/{B}/extra.txt:0: not an image named by its number (000001.jpg ...)" in found
    assert f"annotations/{B}.txt:4: no image 000004.jpg in faces/{B}/" in found


def test_names_must_be_continuous(project, tmp_path):
    out = export(project, tmp_path / "导出")
    (out / "faces" / C / "000003.jpg").rename(out / "faces" / C / "000007.jpg")
    found = reasons(out)
    assert f"faces/{C}:0: names are not continuous from 1: 1 number(s) missing (first 3), " \
        "1 beyond 4 (first 7)" in found
    assert f"faces/{C}/000007.jpg:0: no line in annotations/{C}.txt" in found


def test_bad_lines_and_codes(project, tmp_path):
    out = export(project, tmp_path / "导出")
    rewrite(out, f"annotations/{B}.txt",
            b"000001.jpg 1\n000002.jpg 9\n000003.jpg  2\n000003.jpg 2\n")
    found = reasons(out)
    assert f"annotations/{B}.txt:2: expected '<image name> <code>' with code 1-7, got " \
        "'000002.jpg 9'" in found
    assert f"annotations/{B}.txt:3: no image 000003.jpg  in faces/{B}/" in found
    assert f"faces/{B}/000004.jpg:0: no line in annotations/{B}.txt" in found
    assert any("code 2 differs from" in r or "train.txt" in r or "test.txt" in r for r in found)


def test_bom_crlf_and_unlabelled_code(project, tmp_path):
    out = export(project, tmp_path / "导出")
    lines = (out / "annotations" / f"{A}.txt").read_bytes()
    rewrite(out, f"annotations/{A}.txt",
            b"\xef\xbb\xbf" + lines.replace(b"\n", b"\r\n").replace(b".jpg 7", b".jpg 0", 1))
    found = reasons(out)
    assert f"annotations/{A}.txt:1: starts with a byte-order mark (must be UTF-8 without " \
        "BOM)" in found
    assert f"annotations/{A}.txt:1: \\r in the file (line ends must be \\n)" in found
    assert f"annotations/{A}.txt:3: expected '<image name> <code>' with code 1-7, got " \
        "'000003.jpg 0'" in found


def test_a_clip_in_both_splits(project, tmp_path):
    out = export(project, tmp_path / "导出", test_fraction=0.4)
    train = (out / "train.txt").read_text(encoding="utf-8").splitlines()
    test = (out / "test.txt").read_text(encoding="utf-8").splitlines()
    moved = train.pop()
    rewrite(out, "train.txt", "".join(f"{x}\n" for x in train).encode())
    rewrite(out, "test.txt", "".join(f"{x}\n" for x in [*test, moved]).encode())
    clip = moved.split("/")[0]
    assert f"test.txt:0: clip '{clip}' is in both train.txt and test.txt" in reasons(out)


def test_an_actor_in_both_splits(project, tmp_path):
    out = export(project, tmp_path / "导出", split_by="actor", test_fraction=0.3)
    text = (out / "clips.csv").read_text(encoding="utf-8")
    assert "乙" in text
    # give clip B (alone, actor 乙) the actor of A and C, who are in the other split
    rows = text.splitlines()
    split_b = next(r for r in rows if r.startswith(B)).rsplit(",", 1)[1]
    split_a = next(r for r in rows if r.startswith(A)).rsplit(",", 1)[1]
    assert split_a != split_b
    rewrite(out, "clips.csv", text.replace(",乙,", ",甲,").encode())
    assert "clips.csv:0: actor '甲' is in both splits (the export was split by actor)" in \
        reasons(out)
    # the same tables split by clip: no problem
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    m["split"]["by"] = "clip"
    (out / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    assert verify(out) == []


def test_emotion_fan_damage(project, tmp_path):
    out = export(project, tmp_path / "fan", format="emotion-fan")
    lines = (out / "train.txt").read_text(encoding="utf-8").splitlines()
    first = lines[0]
    cls, rest = first.split("/", 1)
    bad = [f"{cls}/{rest.split()[0]} Fear" if cls != "Fear" else first.replace("Fear", "Sad"),
           *lines[1:], "Happy/nowhere_001 Happy", "Happy/x y Happy"]
    rewrite(out, "train.txt", "".join(f"{x}\n" for x in bad).encode())
    found = reasons(out)
    assert any(r.startswith("train.txt:1: expected '<Class>/<folder> <Class>'") for r in found)
    assert f"train.txt:{len(lines) + 1}: no folder Happy/nowhere_001/" in found
    assert any(r.startswith(f"train.txt:{len(lines) + 2}: expected") for r in found)
    assert f"{first.split()[0]}:0: listed in neither train.txt nor test.txt" in found


def test_not_an_export(tmp_path):
    with pytest.raises(FeasstmError, match="not an export: no manifest.json"):
        verify(tmp_path)


def test_cli_exit_status(project, tmp_path, capsys):
    out = export(project, tmp_path / "导出")
    assert cli_main(["verify", str(out), "-q"]) == 0
    assert "no problem" in capsys.readouterr().out
    (out / "faces" / A / "000001.jpg").write_bytes(b"changed")
    assert cli_main(["verify", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"{out / 'faces' / A / '000001.jpg'}:0: SHA-256 differs" in err
    assert cli_main(["verify", str(tmp_path / "nowhere"), "-q"]) == 2


TOKENS = st.sampled_from(["1", "2", "3", "4", "5", "6", "7", "4", "7", "-", "x3", "i", "n2"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(clips=st.lists(st.lists(TOKENS, min_size=1, max_size=12), min_size=1, max_size=5),
       unlabelled=st.booleans(), fmt=st.sampled_from(["faf", "emotion-fan"]),
       by=st.sampled_from(["clip", "actor"]), fraction=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
       seed=st.integers(0, 5), stratify=st.booleans())
def test_any_project_exports_to_a_sound_export(tmp_path_factory, clips, unlabelled, fmt, by,
                                               fraction, seed, stratify):
    root = tmp_path_factory.mktemp("prop") / "项目 x"
    specs = [ClipSpec(f"片段 {i}", tokens, actor=f"演员 {i % 2}") for i, tokens in
             enumerate(clips)]
    b = build_project(root / "project", specs)
    options = ExportOptions(format=fmt, include_unlabelled=unlabelled, split_by=by,
                            test_fraction=fraction, seed=seed, stratify=stratify)
    try:
        try:
            result = drive(export_dataset(b.store, root / "out", options))
        except FeasstmError as exc:
            assert "nothing to export" in str(exc)
            assert not any(t.isdigit() for tokens in clips for t in tokens)
            return
        out = root / "out"
        assert verify(out) == []
        assert result.done == sum(1 for _ in (out).rglob("*.jpg"))
        if fmt == "faf":
            for spec in specs:
                want = [0 if t == "-" else int(t) for t in spec.frames
                        if t.isdigit() or (unlabelled and t == "-")]
                txt = out / "annotations" / f"{spec.id}.txt"
                got = [int(line.split()[-1]) for line in
                       txt.read_text(encoding="utf-8").splitlines()] if txt.exists() else []
                assert got == want
    finally:
        b.store.close()


def test_the_manifest_as_written_and_as_any_json_give_the_same_problems(project, tmp_path):
    """verify reads a manifest laid out as the export writes it line by line, packed (issue 19:
    a million files); any other layout through the JSON parser. Same findings either way."""
    from feasstm_gui.core.dataset import verify as verify_mod

    out = export(project, tmp_path / "导出")
    manifest = out / "manifest.json"
    assert verify_mod._read_as_written(manifest) is not None
    image = out / "faces" / A / "000002.jpg"
    data = bytearray(image.read_bytes())
    data[100] ^= 0xFF
    image.write_bytes(bytes(data))
    (out / "faces" / B / "000001.jpg").unlink()
    (out / "faces" / C / "extra.jpg").write_bytes(b"x")
    size = (out / "train.txt").stat().st_size
    text = manifest.read_bytes()
    entry = b'"train.txt": {\n   "sha256": "'
    at = text.index(entry) + len(entry) + 64
    assert text[at:at + 16] == f'",\n   "bytes": {size}'.encode()[:16]
    manifest.write_bytes(text.replace(f'"bytes": {size}\n'.encode(),
                                      f'"bytes": {size + 1}\n'.encode(), 1))
    assert verify_mod._read_as_written(manifest) is not None
    as_written = reasons(out)
    assert f"faces/{A}/000002.jpg:0: SHA-256 differs from the manifest: the file was changed " \
        "or damaged after the export" in as_written
    assert f"faces/{B}/000001.jpg:0: missing (listed in the manifest)" in as_written
    assert f"train.txt:0: {size} bytes, the manifest says {size + 1}" in as_written
    assert f"faces/{C}/extra.jpg:0: not listed in the manifest (added after the export?)" \
        in as_written
    m = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps(m, ensure_ascii=False, indent=2), encoding="utf-8")
    assert verify_mod._read_as_written(manifest) is None
    assert reasons(out) == as_written
    manifest.write_bytes(b"\xef\xbb\xbf" + text)  # a byte-order mark: refused either way
    with pytest.raises(FeasstmError, match="cannot read the manifest"):
        verify(out)
