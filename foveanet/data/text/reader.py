"""Read labelled text documents from JSONL or CSV files, plain or gzip-compressed.

JSONL: one object a line with a ``text`` string, a ``labels`` list of strings (or a single
``label`` string) and optionally an ``id``.  CSV: a header row naming a ``text`` column and
either a ``labels`` column (labels joined by ``label_sep``) or a ``label`` column.

Documents with empty text or without labels cannot be trained or scored on; they are
dropped, and how many were dropped is returned in ``stats`` and announced with a warning,
so that a shrinking data set never goes unnoticed.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import warnings
import zlib
from typing import NamedTuple

from foveanet.errors import UserError

_GZIP_MAGIC = b"\x1f\x8b"


class TextFileError(UserError, ValueError):
    """A documents file ``read_documents`` cannot read: a malformed record (with its line),
    text that is not UTF-8, a damaged gzip stream, or no records at all; the message names
    the file.

    A ``ValueError`` too, so that code catching that keeps working.

    Example::

        >>> import os, tempfile
        >>> from foveanet.data.text import read_documents
        >>> from foveanet.data.text.reader import TextFileError
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "docs.jsonl")
        ...     with open(path, "wb") as f:
        ...         _ = f.write(b'{"text": "caf\\xe9", "labels": ["x"]}\\n')
        ...     try:
        ...         read_documents(path)
        ...     except TextFileError as e:
        ...         print(e)
        docs.jsonl: not UTF-8 text (at or after line 1: 'utf-8' codec can't decode byte 0xe9
        in position 13: invalid continuation byte)
    """


class Document(NamedTuple):
    """One labelled text, as ``read_documents`` returns it.

    Attributes:
        id: the record's id (its 1-based record number when the file gives none).
        text: the text, stripped.
        labels: the labels, stripped, without duplicates, in first-seen order.

    Example::

        >>> from foveanet.data.text import Document
        >>> doc = Document("vim", "Vi IMproved", ("role::program", "use::editing"))
        >>> doc.id, len(doc.labels)
        ('vim', 2)
    """

    id: str
    text: str
    labels: tuple


class Documents(list):
    """A list of ``Document`` that also carries the counts of the reading in ``stats``.

    Args:
        docs: the documents (default: none).
        stats: ``{"read": records parsed, "kept", "dropped_empty_text",
            "dropped_no_labels"}`` (default: empty).

    Example::

        >>> from foveanet.data.text import Document, Documents
        >>> docs = Documents([Document("1", "a text", ("x",))],
        ...                  stats={"read": 2, "kept": 1, "dropped_empty_text": 1})
        >>> len(docs), docs[0].labels, docs.stats["read"]
        (1, ('x',), 2)
    """

    def __init__(self, docs=(), stats=None):
        super().__init__(docs)
        self.stats = dict(stats or {})


def open_text(path, encoding="utf-8"):
    """Open a text file for reading, decompressing it when it starts with the gzip magic bytes.

    The extension is not trusted: ``.gz`` files get renamed, plain files get ``.gz``.

    Args:
        path: the file.
        encoding: its text encoding (default ``'utf-8'``).

    Returns:
        A text file object (newlines left as they are, as the csv module wants).

    Example::

        >>> import gzip, os, tempfile
        >>> from foveanet.data.text import open_text
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "notes.txt")              # gzip under a plain name
        ...     with open(path, "wb") as f:
        ...         _ = f.write(gzip.compress(b"two\\nlines\\n"))
        ...     with open_text(path) as f:
        ...         f.read().split()
        ['two', 'lines']
    """
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == _GZIP_MAGIC:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return open(path, "r", encoding=encoding, newline="")


def _guess_format(path) -> str:
    name = os.path.basename(str(path)).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".tsv"):
        return "tsv"
    raise ValueError(f"read_documents: cannot tell the format of {path!r} from its name; "
                     "pass format='jsonl', 'csv' or 'tsv'")


def _clean_labels(labels) -> tuple:
    # duplicates would count twice in multi-hot sums and P@k; keep first-seen order
    seen = {}
    for lab in labels:
        lab = lab.strip()
        if lab:
            seen.setdefault(lab, None)
    return tuple(seen)


def _lines(f, name):
    """The file's lines; a decoding or decompression error becomes a ``TextFileError``."""
    lineno, it = 0, iter(f)
    while True:
        try:
            line = next(it)
        except StopIteration:
            return
        except UnicodeDecodeError as e:
            raise TextFileError(f"{name}: not UTF-8 text (at or after line {lineno + 1}: {e})") from None
        except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise TextFileError(f"{name}: truncated or corrupt gzip data (at or after line {lineno + 1}: "
                                f"{type(e).__name__}: {e})") from None
        lineno += 1
        yield line


def _jsonl_records(f, name, text_field, labels_field, id_field):
    for lineno, line in enumerate(_lines(f, name), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise TextFileError(f"{name}:{lineno}: malformed JSON ({e.msg} at column {e.colno})") from None
        except (ValueError, RecursionError) as e:  # an int of 5,000 digits, nesting too deep
            raise TextFileError(f"{name}:{lineno}: malformed JSON ({type(e).__name__}: {e})") from None
        if not isinstance(obj, dict):
            raise TextFileError(f"{name}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        text = obj.get(text_field)
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise TextFileError(f"{name}:{lineno}: field {text_field!r} must be a string, "
                             f"got {type(text).__name__}")
        if labels_field in obj:
            labels = obj[labels_field]
            if labels is None:
                labels = []
            if isinstance(labels, str) or not isinstance(labels, list) \
                    or not all(isinstance(x, str) for x in labels):
                raise TextFileError(f"{name}:{lineno}: field {labels_field!r} must be a list of "
                                 f"strings, got {labels!r:.80}")
        elif "label" in obj:
            lab = obj["label"]
            if lab is not None and not isinstance(lab, (str, int)):
                raise TextFileError(f"{name}:{lineno}: field 'label' must be a string, got {lab!r:.80}")
            labels = [] if lab is None else [str(lab)]
        else:
            labels = []
        doc_id = obj.get(id_field)
        yield lineno, (None if doc_id is None else str(doc_id)), text, labels


def _csv_records(f, name, text_field, labels_field, id_field, delimiter, label_sep):
    reader = csv.reader(_lines(f, name), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        raise TextFileError(f"{name}:1: malformed CSV header ({e})") from None
    header = [h.strip() for h in header]
    if text_field not in header:
        raise TextFileError(f"{name}:1: CSV header {header!r:.200} has no {text_field!r} column")
    if labels_field in header:
        lab_col, single = header.index(labels_field), False
    elif "label" in header:
        lab_col, single = header.index("label"), True
    else:
        raise TextFileError(f"{name}:1: CSV header {header!r:.200} has no {labels_field!r} or 'label' column")
    text_col = header.index(text_field)
    id_col = header.index(id_field) if id_field in header else None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise TextFileError(f"{name}:{reader.line_num}: malformed CSV ({e})") from None
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise TextFileError(f"{name}:{reader.line_num}: expected {len(header)} fields as in the "
                             f"header, got {len(row)}")
        raw = row[lab_col]
        labels = [raw] if single else raw.split(label_sep)
        yield (reader.line_num, None if id_col is None else row[id_col], row[text_col], labels)


def read_documents(path, format: str | None = None, *, text_field="text", labels_field="labels",
                   id_field="id", delimiter=None, label_sep="|", warn=True) -> Documents:
    """Read labelled documents from a JSONL, CSV or TSV file, plain or gzip-compressed.

    Documents with empty text or without labels are dropped, counted in ``stats`` and (with
    ``warn``) announced with a warning. A document without an id gets its 1-based record
    number as id.

    Args:
        path: the file (gzip is detected by its magic bytes).
        format: ``'jsonl'``, ``'csv'`` or ``'tsv'`` (default None: from the extension,
            ``.jsonl``/``.ndjson``/``.json``, ``.csv``, ``.tsv``, each optionally ``.gz``).
        text_field: the text's field or column (default ``'text'``).
        labels_field: the labels' field (a JSON list, or a CSV column of labels joined by
            ``label_sep``); a single ``label`` field is read when it is absent (default
            ``'labels'``).
        id_field: the id's field (default ``'id'``).
        delimiter: the CSV delimiter (default None: ``,`` for CSV, a tab for TSV).
        label_sep: separator of the labels in a CSV cell (default ``'|'``).
        warn: warn when documents were dropped (default True).

    Returns:
        Documents: a list of ``Document`` with ``.stats``.

    Raises:
        TextFileError: (a ``ValueError``) naming the file and line, for a malformed record,
            text that is not UTF-8, a damaged gzip stream, and a file with no records at all.
        ValueError: a format that is not given and cannot be told from the name.

    Example::

        >>> import os, tempfile
        >>> from foveanet.data.text import read_documents
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "docs.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("id,text,labels\\nvim,Vi IMproved,role::program|use::editing\\n"
        ...                     "x,,role::program\\n")
        ...     docs = read_documents(path, warn=False)
        >>> docs[0]
        Document(id='vim', text='Vi IMproved', labels=('role::program', 'use::editing'))
        >>> docs.stats
        {'read': 2, 'kept': 1, 'dropped_empty_text': 1, 'dropped_no_labels': 0}
    """
    fmt = (format or _guess_format(path)).lower()
    if fmt not in ("jsonl", "csv", "tsv"):
        raise ValueError(f"read_documents: unknown format {format!r} (expected jsonl, csv or tsv)")
    name = os.path.basename(str(path))
    docs, n_read, no_text, no_labels = [], 0, 0, 0
    with open_text(path) as f:
        if fmt == "jsonl":
            records = _jsonl_records(f, name, text_field, labels_field, id_field)
        else:
            sep = delimiter or ("\t" if fmt == "tsv" else ",")
            records = _csv_records(f, name, text_field, labels_field, id_field, sep, label_sep)
        for _lineno, doc_id, text, labels in records:
            n_read += 1
            text = text.strip()
            labels = _clean_labels(labels)
            if not text:
                no_text += 1
                continue
            if not labels:
                no_labels += 1
                continue
            docs.append(Document(doc_id if doc_id is not None else str(n_read), text, labels))
    if n_read == 0:
        raise TextFileError(f"read_documents: {name} is empty (no {fmt.upper()} records)")
    stats = {"read": n_read, "kept": len(docs), "dropped_empty_text": no_text,
             "dropped_no_labels": no_labels}
    if (no_text or no_labels) and warn:
        warnings.warn(f"read_documents: {name}: dropped {no_text} documents with empty text and "
                      f"{no_labels} without labels ({len(docs)} of {n_read} kept)", stacklevel=2)
    return Documents(docs, stats)
