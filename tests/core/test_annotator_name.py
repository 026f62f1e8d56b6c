"""One way to resolve the annotator's name, for the CLI, the window and the store."""

from __future__ import annotations

from feasstm_gui.core.settings import Settings, login_name, resolve_annotator
from feasstm_gui.core.store import Store


def test_env_wins_then_the_remembered_name_then_asking_then_the_login(cjk_dir, monkeypatch):
    monkeypatch.delenv("FEASSTM_ANNOTATOR", raising=False)
    assert resolve_annotator() == (login_name() or "annotator")
    assert resolve_annotator(Settings.load(), ask=lambda: "李 四") == "李 四"
    assert Settings.load().get("annotator") == "李 四"  # remembered
    assert resolve_annotator(Settings.load(), ask=lambda: "never asked") == "李 四"
    with Store.create(cjk_dir / "项目") as store:
        assert store.annotator == "李 四"
    monkeypatch.setenv("FEASSTM_ANNOTATOR", "环境 名")
    assert resolve_annotator(Settings.load()) == "环境 名"
    with Store.open(cjk_dir / "项目") as store:
        assert store.annotator == "环境 名"
