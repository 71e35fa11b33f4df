"""The Content-Disposition header of a download, whatever a learner's name holds.

Response headers travel as Latin-1 (PEP 3333; waitress encodes them so), and a
name may hold anything a person can type: Łukasz, Nguyễn, محمد, an emoji, a
quote, a semicolon, a line break. So the filename goes twice (RFC 6266): a plain
ASCII fallback, ``filename="annual-review-lukasz-2026-11-30.pdf"``, and the name
as written, ``filename*=UTF-8''annual-review-%C5%81ukasz-2026-11-30.pdf``
(RFC 8187), percent-encoded, so the header itself is always ASCII and always
exactly two parameters. Neither name keeps quotes, semicolons, line breaks,
path separators or invisible direction marks."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

KINDS = ("inline", "attachment")
MAX_BYTES = 200  # of the UTF-8 filename (file systems allow 255)

# Letters Unicode does not decompose into a base letter and an accent.
_LETTERS = str.maketrans({
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
    "ı": "i", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ĸ": "k", "ŋ": "ng", "Ŋ": "Ng",
})
_SEPARATING = {"Cc", "Cs", "Zs", "Zl", "Zp"}  # controls, lone surrogates, spaces, line breaks
_UNSAFE = set("\"'`*/\\:;<>?|%")  # quoting, parameters, paths, wildcards, percent-encoding


def _visible(text: str) -> str:
    """Invisible format characters (direction overrides, zero-width joiners) dropped."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def ascii_slug(text: str, fallback: str, limit: int = 60) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens ("Łukasz Żółć"
    → "lukasz-zolc"), or ``fallback`` when nothing is left (محمد, 🙂)."""
    decomposed = unicodedata.normalize("NFKD", _visible(text)).translate(_LETTERS)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return slug[:limit].strip("-") or fallback


def safe_filename(text: str, fallback: str = "download") -> str:
    """The name as written, minus anything that could break a header or a path:
    spaces, controls, unsafe punctuation and runs of dots become hyphens, format
    characters go, no leading dot or hyphen, at most MAX_BYTES of UTF-8, the extension kept."""
    out = []
    for c in unicodedata.normalize("NFC", _visible(text)):
        out.append("-" if c in _UNSAFE or unicodedata.category(c) in _SEPARATING else c)
    name = re.sub(r"-{2,}", "-", re.sub(r"\.{2,}", "-", "".join(out))).lstrip(".-").rstrip(". ")
    stem, ext = _split(name)
    stem = stem.rstrip(".-") or fallback
    room = MAX_BYTES - len(ext.encode())
    while len(stem.encode()) > room:
        stem = stem[:-1]
    return stem + ext


def _split(name: str) -> tuple[str, str]:
    """("report", ".pdf") for "report.pdf"; no extension unless short and alphanumeric."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem and re.fullmatch(r"[A-Za-z0-9]{1,10}", ext):
        return stem, "." + ext
    return name, ""


def content_disposition(kind: str, filename: str, ascii_filename: str | None = None) -> str:
    """``kind`` is "inline" or "attachment"; ``filename`` is the name as wanted (any
    text); ``ascii_filename`` the fallback for old clients, derived when not given.
    The result is ASCII, with exactly one ``filename`` and one ``filename*``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    wanted = safe_filename(filename)
    stem, ext = _split(ascii_filename or filename)
    plain = ascii_slug(stem, "download", limit=MAX_BYTES) + (f".{ascii_slug(ext, '')}" if ext else "")
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(wanted, safe='')}"
