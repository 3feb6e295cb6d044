"""The console at ``/`` (docs/console.md): one HTML document with its style sheet and its
script inlined, so it is one request, works offline and needs no build step.

The three parts are plain files beside this module, in ``static/`` (package data):
``console.html`` with the markers ``/* console.css */`` and ``/* console.js */`` where the
style sheet and the script go. The console reads and drives the server through the JSON API
(``/api/v1``) and stays current through its event stream (``/api/v1/events``).

:data:`CONTENT_SECURITY_POLICY` lets the page run its own inline script and style (by their
SHA-256, CSP Level 3) and talk to its own origin only; nothing else is loaded.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources

STYLE_MARK = "/* console.css */"
SCRIPT_MARK = "/* console.js */"


def _static(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def _digest(text: str) -> str:
    """A CSP hash source for an inline element whose content is ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _build() -> tuple[str, str]:
    html, style, script = (_static(n) for n in ("console.html", "console.css", "console.js"))
    if "</style" in style.lower() or "</script" in script.lower() or "<!--" in script:
        raise ValueError("console.css or console.js would end its inline element early")
    inline_style, inline_script = "\n" + style, "\n" + script
    for mark in (STYLE_MARK, SCRIPT_MARK):
        if html.count(mark) != 1:
            raise ValueError(f"console.html must hold {mark} exactly once")
    page = html.replace(STYLE_MARK, inline_style).replace(SCRIPT_MARK, inline_script)
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_digest(inline_script)}",
            f"style-src {_digest(inline_style)}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return page, policy


#: The console, ready to serve (``text/html; charset=utf-8``).
PAGE, CONTENT_SECURITY_POLICY = _build()
