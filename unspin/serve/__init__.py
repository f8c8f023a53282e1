"""``unspin serve``: the detector and the restorer over HTTP, with a small web page.

Needs the ``serve`` extra (``pip install 'unspin[serve]'``): FastAPI and uvicorn. The page
(``static/index.html``) is one self-contained file that loads nothing from the network.
"""

from __future__ import annotations

from .app import MAX_TEXT_CHARS, create_app

__all__ = ["MAX_TEXT_CHARS", "create_app"]
