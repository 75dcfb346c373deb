"""Rebuild the debtags text-classification file from a Debian machine's apt lists.

Labels come from the ``Tag:`` field of ``*_Packages`` files; the text is the package's short
plus long description.  Since Debian moved long descriptions out of Packages, they live in
``*_i18n_Translation-en`` files (``apt-get update -o Acquire::Languages=en``), matched to a
package by ``(Package, Description-md5)``; a package whose translation is missing keeps the
description its Packages entry has (often only the short line), and is counted.

List files may be plain or compressed (gzip, xz, bzip2, lz4 -- apt's own choice in many
images -- detected by magic bytes).

    counts = build_debtags("/var/lib/apt/lists", "debtags.jsonl.gz")
"""
from __future__ import annotations

import bz2
import glob
import gzip
import io
import json
import lzma
import os
import shutil
import subprocess

from foveanet.serialization import atomic_write

_MAGIC = {b"\x1f\x8b": "gzip", b"\xfd7zXZ\x00": "xz", b"BZh": "bzip2", b"\x04\x22\x4d\x18": "lz4"}


def _open_list(path):
    with open(path, "rb") as f:
        head = f.read(6)
    kind = next((k for m, k in _MAGIC.items() if head.startswith(m)), None)
    if kind == "gzip":
        raw = gzip.open(path, "rb")
    elif kind == "xz":
        raw = lzma.open(path, "rb")
    elif kind == "bzip2":
        raw = bz2.open(path, "rb")
    elif kind == "lz4":
        try:
            import lz4.frame
            raw = lz4.frame.open(path, "rb")
        except ImportError:
            if shutil.which("lz4") is None:
                raise RuntimeError(f"{path} is lz4-compressed: install the 'lz4' Python package "
                                   "or the lz4 command") from None
            out = subprocess.run(["lz4", "-dc", str(path)], check=True, capture_output=True).stdout
            raw = io.BytesIO(out)
    else:
        raw = open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")


def iter_deb822(path):
    """Yield the paragraphs of a deb822 file as ``{field: value}``; a multi-line value keeps
    its continuation lines (one leading space removed) after ``\\n``."""
    name = os.path.basename(str(path))
    with _open_list(path) as f:
        para, last = {}, None
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if para:
                    yield para
                para, last = {}, None
            elif line[0] in " \t":
                if last is None:
                    raise ValueError(f"{name}:{lineno}: continuation line outside a field")
                para[last] += "\n" + line[1:]
            elif line.startswith("#"):
                continue
            else:
                key, sep, value = line.partition(":")
                if not sep or not key or " " in key:
                    raise ValueError(f"{name}:{lineno}: expected 'Field: value', got {line[:60]!r}")
                last = key.strip()
                para[last] = value.strip()
        if para:
            yield para


def description_text(value: str) -> str:
    """Short and long description as one line of text: the synopsis, then the long lines
    stripped and joined by spaces; ``.`` paragraph-separator lines vanish."""
    lines = value.split("\n")
    parts = [lines[0].strip()]
    for line in lines[1:]:
        s = line.strip()
        if s and s != ".":
            parts.append(s)
    return " ".join(p for p in parts if p)


def parse_tags(value: str) -> list:
    """The ``Tag:`` field as a sorted list: comma-separated over continuation lines, with the
    ``facet::{a,b}`` shorthand of the debtags database expanded."""
    tags, cur, depth = [], [], 0
    for ch in value.replace("\n", " ") + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            item = "".join(cur).strip()
            cur = []
            if "{" in item and item.endswith("}"):
                head, _, body = item.partition("{")
                tags += [head + b.strip() for b in body[:-1].split(",") if b.strip()]
            elif item:
                tags.append(item)
        else:
            cur.append(ch)
    return sorted(set(tags))


def _list_files(lists_dir, suffix):
    pats = [os.path.join(str(lists_dir), f"*_{suffix}"), os.path.join(str(lists_dir), f"*_{suffix}.*")]
    files = sorted({p for pat in pats for p in glob.glob(pat)})
    # apt keeps pdiff and partial downloads next to the lists; only whole files count
    return [p for p in files if os.path.isfile(p) and ".diff" not in os.path.basename(p)]


def build_debtags(lists_dir="/var/lib/apt/lists", out_path="debtags.jsonl.gz") -> dict:
    """Build the debtags text-classification file from a Debian machine's apt lists.

    Writes ``{"id", "text", "labels"}`` JSON lines, sorted by id, for every package that
    carries tags: the labels from the ``Tag:`` field of ``*_Packages``, the text from the
    short plus long description (from ``*_i18n_Translation-en`` when it has the package).

    Args:
        lists_dir: the apt lists (default ``'/var/lib/apt/lists'``).
        out_path: the file to write, gzip when it ends in ``.gz`` (default
            ``'debtags.jsonl.gz'``).

    Returns:
        dict: counts: ``packages_files``, ``translation_files``, ``packages`` (distinct
        names), ``tagged``, ``written``, ``long_description`` (from a translation or the
        Packages entry), ``short_only``, ``duplicates`` (same package again in another list;
        first kept), ``no_text``.

    Raises:
        FileNotFoundError: no ``*_Packages`` file in ``lists_dir``.

    Example::

        >>> import os, tempfile
        >>> from foveanet.data.text import build_debtags, read_documents
        >>> with tempfile.TemporaryDirectory() as lists:
        ...     with open(os.path.join(lists, "deb_main_binary-amd64_Packages"), "w") as f:
        ...         _ = f.write("Package: vim\\nDescription: Vi IMproved\\n"
        ...                     "Tag: role::program, use::editing\\n\\n"
        ...                     "Package: libfoo1\\nDescription: a library\\n")
        ...     counts = build_debtags(lists, os.path.join(lists, "debtags.jsonl"))
        ...     docs = read_documents(os.path.join(lists, "debtags.jsonl"))
        >>> counts["packages"], counts["tagged"], counts["written"]
        (2, 1, 1)
        >>> docs[0]
        Document(id='vim', text='Vi IMproved', labels=('role::program', 'use::editing'))
    """
    pkg_files = _list_files(lists_dir, "Packages")
    if not pkg_files:
        raise FileNotFoundError(f"build_debtags: no *_Packages files in {lists_dir} "
                                "(run apt-get update first)")
    tr_files = _list_files(lists_dir, "i18n_Translation-en")
    translations = {}
    for path in tr_files:
        for p in iter_deb822(path):
            if "Package" in p and "Description-en" in p:
                translations.setdefault((p["Package"], p.get("Description-md5")), p["Description-en"])
    docs, seen = {}, set()
    counts = {"packages_files": len(pkg_files), "translation_files": len(tr_files), "packages": 0,
              "tagged": 0, "written": 0, "long_description": 0, "short_only": 0,
              "duplicates": 0, "no_text": 0}
    for path in pkg_files:
        for p in iter_deb822(path):
            pkg = p.get("Package")
            if not pkg:
                continue
            if pkg in seen:
                counts["duplicates"] += 1
                continue
            seen.add(pkg)
            tags = parse_tags(p.get("Tag", ""))
            if not tags:
                continue
            counts["tagged"] += 1
            desc = translations.get((pkg, p.get("Description-md5")))
            if desc is None:
                desc = p.get("Description", p.get("Description-en", ""))
            text = description_text(desc)
            if not text:
                counts["no_text"] += 1
                continue
            counts["long_description" if "\n" in desc.strip() else "short_only"] += 1
            docs[pkg] = {"id": pkg, "text": text, "labels": tags}
    counts["packages"] = len(seen)
    out_path = str(out_path)
    text = "".join(json.dumps(docs[pkg], ensure_ascii=False) + "\n" for pkg in sorted(docs))
    data = text.encode("utf-8")
    if out_path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime=0: the same lists give byte-identical files
    atomic_write(out_path, data)
    counts["written"] = len(docs)
    return counts


def main(out: str, lists_dir: str = "/var/lib/apt/lists") -> int:
    """Entry point for ``foveanet data debtags --out FILE``: build, print counts, return 0."""
    counts = build_debtags(lists_dir, out)
    print(f"wrote {counts['written']} packages to {out} ({counts['long_description']} with a long "
          f"description, {counts['short_only']} short only; {counts['packages']} packages in "
          f"{counts['packages_files']} Packages and {counts['translation_files']} Translation-en files)")
    return 0
