"""Hostile files: every loader, fed damaged and crafted copies of valid files, either reads
them or raises its one error type with a message naming the file; never another exception,
never a hang, never memory far beyond the file's size.

    loader                                   error type (all UserError and ValueError)
    foveanet.load                            foveanet.serialization.SafetensorsError
    foveanet.interop.load_safetensors        foveanet.serialization.SafetensorsError
    foveanet.interop.load_torch              foveanet.interop.torch_pt.TorchCheckpointError
    foveanet.onnx.load                       foveanet.interop.onnx_import.OnnxLoadError
    foveanet.data.read_idx                   foveanet.data.idx.IDXError
    train.image_input.read_for_model         foveanet.data.image_folder.ImageFileError
      (predict's reader, through load_image)
    foveanet.data.text.read_documents        foveanet.data.text.reader.TextFileError

Each fuzz test starts from small valid files (written by foveanet's own writers, torch,
onnx and Pillow) and mutates them with hypothesis: truncation, bit flips, overwritten,
deleted and repeated bytes, length and size fields set to huge values, appended garbage,
and edits that know the format (declared dtypes and shapes, header fields, pickle opcodes,
initializer dims) so that the damage gets past checksums and reaches the parser. `make
test` tries FAST files per loader, `pytest -m slow` SLOW; each test counts the files it
tried, asserts the count and prints it. Every file is loaded under a time limit (HANG_S)
and tracemalloc, whose peak must stay within a small multiple of the file's size.

The hand-made cases: pickles whose reduce runs os.system, exec or subprocess (never run:
a marker file stays absent), a storage of 10^12 elements, an ONNX initializer of 10^12
elements, an IDX header of 2^31 images, a safetensors header length of 2^60, an image
header of 2^31 pixels: each a file of about 1 KB, refused with its loader's error while
the process's memory grows by less than 100 MB.
"""
import collections
import contextlib
import functools
import gzip
import hashlib
import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import foveanet
from foveanet.data.idx import IDXError, read_idx, write_idx
from foveanet.data.image_folder import ImageFileError
from foveanet.data.text.reader import TextFileError, read_documents
from foveanet.interop import load_safetensors, save_safetensors, save_torch
from foveanet.interop import torch_pt
from foveanet.interop.torch_pt import TorchCheckpointError, load_torch
from foveanet.serialization import SafetensorsError

FAST, SLOW = 200, 2000
HANG_S = 20            # one file; the slowest valid one loads in milliseconds
MiB = 1 << 20

HYPOTHESIS = dict(deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much])


# --------------------------------------------------------------------------- the harness
class _Hang(BaseException):
    """Raised by the alarm: a BaseException, so no loader's ``except Exception`` eats it."""


@contextlib.contextmanager
def _time_limit(seconds):
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield   # alarms need the main thread of a POSIX process
        return

    def on_alarm(*_):
        raise _Hang(f"the loader was still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _memory_limit(nbytes: int) -> int:
    """What loading an nbytes file may take, as tracemalloc counts it (Python objects and
    NumPy arrays): a small multiple of the file, plus room for the loaders' fixed costs
    (load_torch's floor for expanded tensors is 16 MiB)."""
    return 64 * nbytes + 32 * MiB


class Loader:
    """One loader under test: how to call it on a path, and its error type."""

    def __init__(self, name, call, error, suffix):
        self.name, self.call, self.error, self.suffix = name, call, error, suffix

    def attempt(self, path: Path, blob: bytes) -> str:
        """Load ``blob`` from ``path``: 'loaded' or 'refused'; anything else fails the test."""
        path.write_bytes(blob)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        try:
            with _time_limit(HANG_S), warnings.catch_warnings():
                warnings.simplefilter("ignore")   # Pillow's "corrupt EXIF" and the like
                out = self.call(path)
        except self.error as e:
            text = str(e)
            assert path.name in text, f"{self.name}: the message does not name the file: {text}"
            outcome, out = "refused", None
        else:
            outcome = "loaded"
        peak = tracemalloc.get_traced_memory()[1] - base
        assert peak <= _memory_limit(len(blob)), \
            f"{self.name}: a {len(blob)}-byte file took {peak / MiB:.1f} MiB"
        del out
        return outcome


def fuzz(loader: Loader, strategy, n: int, tmp_path: Path) -> dict:
    """Run ``n`` hypothesis examples of ``strategy`` (bytes) through ``loader``; returns the
    counts and asserts that n files were tried."""
    counts = collections.Counter()
    seen = set()
    path = tmp_path / f"case{loader.suffix}"

    @settings(max_examples=n, **HYPOTHESIS)
    @given(strategy)
    def run(blob):
        counts["tried"] += 1
        seen.add(hashlib.sha1(blob).digest())
        counts[loader.attempt(path, blob)] += 1

    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    try:
        run()
    finally:
        if not started:
            tracemalloc.stop()
    counts["distinct"] = len(seen)
    print(f"\n{loader.name}: {counts['tried']} hostile files tried ({counts['distinct']} distinct): "
          f"{counts['refused']} refused with {loader.error.__name__}, {counts['loaded']} loaded")
    assert counts["tried"] >= n
    return dict(counts)


# ------------------------------------------------------------------ generic mutations
HUGE = [0xFF, 0x7FFF, 0xFFFF, 2**31 - 1, 2**31, 2**32 - 1, 2**40, 10**12, 2**60, 2**63 - 1, 2**64 - 1]


def _truncate(draw, b):
    return b[:draw(st.integers(0, max(len(b) - 1, 0)))]


def _flip_bits(draw, b):
    if not b:
        return b
    b = bytearray(b)
    for i in draw(st.lists(st.integers(0, 8 * len(b) - 1), min_size=1, max_size=8)):
        b[i // 8] ^= 1 << (i % 8)
    return bytes(b)


def _overwrite(draw, b):
    i = draw(st.integers(0, len(b)))
    chunk = draw(st.binary(min_size=1, max_size=16))
    return b[:i] + chunk + b[i + len(chunk):]


def _huge_field(draw, b):
    """A length, count or size field (at any offset, either byte order) set to a huge value."""
    width = draw(st.sampled_from([2, 4, 8]))
    value = draw(st.sampled_from([v for v in HUGE if v < 1 << (8 * width)]))
    i = draw(st.integers(0, max(len(b) - width, 0)))
    return b[:i] + value.to_bytes(width, draw(st.sampled_from(["little", "big"]))) + b[i + width:]


def _append(draw, b):
    return b + draw(st.binary(min_size=1, max_size=64))


def _delete(draw, b):
    i = draw(st.integers(0, len(b)))
    return b[:i] + b[i + draw(st.integers(1, 64)):]


def _repeat(draw, b):
    i = draw(st.integers(0, len(b)))
    j = draw(st.integers(i, min(len(b), i + 256)))
    k = draw(st.integers(0, len(b)))
    return b[:k] + b[i:j] * draw(st.integers(1, 4)) + b[k:]


GENERIC = [_truncate, _flip_bits, _overwrite, _huge_field, _append, _delete, _repeat]


def mutated(bases, *edits, generic=GENERIC):
    """A valid file from ``bases`` with up to two of the format's own ``edits`` (each
    ``(draw, bytes) -> bytes``, made first, while the file still parses) and up to two of
    the generic byte-level mutations; at least one change in all."""
    base, own_steps = st.sampled_from(bases), st.lists(st.sampled_from(edits), max_size=2) if edits else st.just([])
    some, more = (st.lists(st.sampled_from(generic), min_size=n, max_size=2) for n in (0, 1))

    @st.composite
    def strategy(draw):
        blob = draw(base)
        own = draw(own_steps)
        steps = draw(some if own else more)
        for step in own:
            try:
                blob = bytes(step(draw, blob))
            except Exception:   # the edit cannot parse this file (a legacy .pt, a header cut by
                pass            # the edit before): it stays as it is
        for step in steps:
            blob = bytes(step(draw, blob))
        return blob
    return strategy()


# ----------------------------------------------------------------------- safetensors
def _split_safetensors(b):
    n = int.from_bytes(b[:8], "little")
    return json.loads(b[8:8 + n]), b[8 + n:]


def _join_safetensors(header, body, raw_json=None):
    text = raw_json if raw_json is not None else json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + body


BAD_VALUES = {
    "dtype": ["F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3", "C64", "", 5, None, ["F32"]],
    "shape": [[10**12], [2**31, 2**31], [2**64], [-1], [], [0], [0, 10**18], ["3"], [True], [1.5],
              3, None, [1] * 70, [0] * 70, [3, -4]],
    "data_offsets": [[0, 2**62], [5, 3], [-1, 4], [0], [0, 1.5], None, "0,4", [0, 0], [1, 13],
                     [True, 5], [0, 10**30]],
}


def _safetensors_entry(draw, b):
    """Change one tensor's dtype, shape or offsets (or add or drop a tensor) and rewrite the
    header with a consistent length, so that the change reaches the checks."""
    header, body = _split_safetensors(b)
    names = [k for k in header if k != "__metadata__"]
    what = draw(st.sampled_from(["dtype", "shape", "data_offsets", "drop", "add", "shift"]))
    name = draw(st.sampled_from(names)) if names else "x"
    entry = dict(header.get(name) or {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]})
    if what == "drop":
        header.pop(name, None)
    elif what == "add":
        header[f"{name}#"] = entry      # a second tensor over the same bytes
    elif what == "shift":
        d = draw(st.sampled_from([-8, -4, -1, 1, 4, 8]))
        entry["data_offsets"] = [o + d for o in entry.get("data_offsets", [0, 0])]
        header[name] = entry
    else:
        entry[what] = draw(st.sampled_from(BAD_VALUES[what]))
        header[name] = entry
    return _join_safetensors(header, body)


HOSTILE_NODES = [
    {"__tensor__": "missing"}, {"__tensor__": ["w"]}, {"__tensor__": None}, {"__tuple__": 3},
    {"__tuple__": None}, {"__dict__": [[1]]}, {"__dict__": [[[1], 2]]}, {"__dict__": 5},
    {"__dict__": [[{"a": 1}, 2]]}, {"__float__": "nope"}, {"__float__": 3},
    {"__numpy__": "V1000000000", "value": 1}, {"__numpy__": "object", "value": 1},
    {"__numpy__": "void", "value": 10**8},
    {"__numpy__": "float32"}, {"__numpy__": "int8", "value": 10**6}, {"__numpy__": 7, "value": 1},
    {"__numpy__": "float64", "value": "x"}, {"__numpy__": "bool", "value": [1, 2]},
]


def _structure(draw, b):
    """Replace a node of foveanet's JSON structure with one save() never writes; or the
    structure with raw text (deep nesting, a 5,000-digit integer, no JSON at all)."""
    header, body = _split_safetensors(b)
    meta = header.setdefault("__metadata__", {})
    raw = draw(st.sampled_from([None, None, None, "[" * 100_000, "1" * 5000, "{", "nan", "[1, 2",
                                '{"__tensor__": "w"', 5]))
    if raw is not None:
        meta["foveanet.structure"] = raw
        return _join_safetensors(header, body)
    structure = json.loads(meta.get("foveanet.structure", "{}"))
    node = draw(st.sampled_from(HOSTILE_NODES))
    if isinstance(structure, dict) and structure and draw(st.booleans()):
        structure[draw(st.sampled_from(sorted(structure)))] = node
    else:
        structure = {"x": node, "y": [node, {"z": node}]}
    meta["foveanet.structure"] = json.dumps(structure)
    return _join_safetensors(header, body)


def _header_length(draw, b):
    value = draw(st.sampled_from([0, 1, 7, 2**60, 2**63, 2**64 - 1, 100_000_001, len(b), len(b) - 7]))
    return value.to_bytes(8, "little") + b[8:]


@functools.lru_cache(maxsize=None)
def _serialization_bases(tmp=None) -> tuple:
    tmp = Path(tempfile.mkdtemp(prefix="hostile-fn-"))
    objs = [
        {"model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(3)},
         "epoch": 3, "lrs": (0.1, 0.01), "best": float("inf"), "step": np.int64(5),
         "opt": {0: {"m": np.array([-1, 2], np.int8)}}, "flags": np.array([True, False]), "note": "x"},
        {"weight": np.arange(4, dtype=np.float16).reshape(2, 2), "bias": np.zeros(2, np.uint16),
         "scalar": np.array(7, np.int64)},
    ]
    out = []
    for i, obj in enumerate(objs):
        foveanet.save(obj, tmp / f"{i}.safetensors")
        out.append((tmp / f"{i}.safetensors").read_bytes())
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _safetensors_bases() -> tuple:
    tmp = Path(tempfile.mkdtemp(prefix="hostile-st-"))
    save_safetensors({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "i": np.arange(3),
                      "h": np.ones(2, np.float16), "u": np.array([1, 2], np.uint8),
                      "flag": np.array([True]), "empty": np.zeros((0, 3), np.float64)},
                     tmp / "a.safetensors", metadata={"format": "pt"})
    out = [(tmp / "a.safetensors").read_bytes()]
    # bfloat16, which save_safetensors does not write: by hand, as the reference writer lays it out
    bf16 = (np.array([1.5, -2.0, 0.25], np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    out.append(_join_safetensors({"bf": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}, bf16))
    return tuple(out)


LOAD = Loader("foveanet.load", foveanet.load, SafetensorsError, ".safetensors")
LOAD_SAFETENSORS = Loader("interop.load_safetensors", load_safetensors, SafetensorsError, ".safetensors")


# --------------------------------------------------------------------------- torch .pt
_KINDS = sorted(torch_pt._NP_TO_STORAGE)


class _Layout(torch_pt._TensorRef):
    """A tensor whose pickled layout (offset, size, stride) is chosen by the test."""

    def __init__(self, storage, offset, size, stride):
        super().__init__(storage, size)
        self.layout = (offset, size, stride)

    def __reduce__(self):
        fn, args = super().__reduce__()
        return fn, (args[0], *self.layout) + args[4:]


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _pickle_torch(obj) -> bytes:
    buf = io.BytesIO()
    torch_pt._TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


@st.composite
def crafted_checkpoints(draw):
    """A well-formed archive whose pickle declares storages and layouts chosen to be wrong:
    numel up to 10^12, sizes and strides that reach past the storage or repeat it (stride 0),
    missing or short storage files, many tensors over one storage."""
    counts = st.one_of(st.integers(0, 16), st.sampled_from([2**31, 10**12, 2**62]))
    numel = draw(counts)
    kind = draw(st.sampled_from(_KINDS))
    held = draw(st.one_of(st.just(None), st.integers(0, 64)))     # bytes actually stored
    storage = torch_pt._StorageRef(draw(st.sampled_from(["0", "1", "../0"])), kind, numel)
    ndim = draw(st.integers(0, 3))
    size = tuple(draw(st.lists(counts, min_size=ndim, max_size=ndim)))
    stride = tuple(draw(st.lists(st.one_of(st.integers(-1, 4), st.sampled_from([0, 2**40])),
                                 min_size=ndim, max_size=ndim + draw(st.integers(0, 1)))))
    offset = draw(st.one_of(st.integers(-1, 8), st.just(2**62)))
    tensors = {f"t{i}": _Layout(storage, offset, size, stride) for i in range(draw(st.integers(1, 8)))}
    itemsize = np.dtype(kind[0] + kind[1:] if kind != "b1" else "?").itemsize
    nbytes = min(numel, 64) * itemsize if held is None else held
    return _zip({"archive/data.pkl": _pickle_torch(tensors), "archive/byteorder": "little",
                 "archive/data/0": b"\1" * nbytes, "archive/version": "3\n"})


def _members(b):
    with zipfile.ZipFile(io.BytesIO(b)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _torch_pickle_bytes(draw, b):
    """Damage the pickle inside the archive and zip it again (with right checksums), so that
    the damage reaches the unpickler rather than zipfile's CRC check."""
    members = _members(b)
    name = next(n for n in members if n.endswith("data.pkl"))
    members[name] = draw(st.sampled_from(GENERIC))(draw, members[name])
    return _zip(members)


def _torch_member(draw, b):
    """Drop, empty, cut or grow a member (a storage, the byte order, the pickle)."""
    members = _members(b)
    name = draw(st.sampled_from(sorted(members)))
    how = draw(st.sampled_from(["drop", "empty", "cut", "grow", "big"]))
    if how == "drop":
        del members[name]
    elif how == "empty":
        members[name] = b""
    elif how == "cut":
        members[name] = members[name][: len(members[name]) // 2]
    elif how == "grow":
        members[name] = members[name] * 3
    else:
        members[name] = b"big"
    return _zip(members)


def _torch_deflate(draw, b):
    """The same members, deflated (a zip bomb's first ingredient)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in _members(b).items():
            z.writestr(name, data)
    return buf.getvalue()


@functools.lru_cache(maxsize=None)
def _torch_bases() -> tuple:
    tmp = Path(tempfile.mkdtemp(prefix="hostile-pt-"))
    save_torch({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2, np.int64),
                "nested": {"h": np.ones(3, np.float16), "flags": np.array([True, False])},
                "epoch": 3, "name": "net", "lr": 0.1, "none": None}, tmp / "a.pt")
    out = [(tmp / "a.pt").read_bytes()]
    try:
        import torch
    except ImportError:   # torch is only the oracle: the project's own writer suffices
        return tuple(out)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    torch.save(collections.OrderedDict(t=base.t(), sub=base[1:, 2:], bf=torch.ones(2, dtype=torch.bfloat16),
                                       i8=torch.tensor([-3, 4], dtype=torch.int8), scalar=torch.tensor(2),
                                       expand=torch.ones(1).expand(3)), tmp / "b.pt")
    out.append((tmp / "b.pt").read_bytes())
    torch.save({"w": torch.ones(2)}, tmp / "legacy.pt", _use_new_zipfile_serialization=False)
    out.append((tmp / "legacy.pt").read_bytes())
    return tuple(out)


LOAD_TORCH = Loader("interop.load_torch", load_torch, TorchCheckpointError, ".pt")


# ------------------------------------------------------------------------------- ONNX
@functools.lru_cache(maxsize=None)
def _onnx_bases() -> tuple:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from foveanet import nn

    tmp = Path(tempfile.mkdtemp(prefix="hostile-onnx-"))
    foveanet.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    foveanet.onnx.export(net, foveanet.ones(1, 1, 4, 4), tmp / "a.onnx")
    out = [(tmp / "a.onnx").read_bytes()]
    # hand-built: typed-field initializers (not raw_data), a Constant node, int64 shapes
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], [0.5, -1, 2, 0, 1, 3])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [3, 2])
    half = helper.make_tensor("half", TensorProto.FLOAT16, [2], np.array([1, 2], np.float16).view(np.uint16).tolist())
    const = helper.make_node("Constant", [], ["c"], value=helper.make_tensor("cv", TensorProto.FLOAT, [1], [2.0]))
    nodes = [const, helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Mul", ["y", "c"], ["z"]),
             helper.make_node("Reshape", ["z", "shape"], ["out"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [3, 2])],
                              initializer=[w, shape, half])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    out.append(model.SerializeToString())
    assert onnx.load_from_string(out[1]).graph.node
    return tuple(out)


def _onnx_tensor_edit(draw, b):
    """Change an initializer's (or a Constant's) dims, data type, data or storage place and
    serialize the model again, so that the change gets past the protobuf parser."""
    import onnx
    from onnx import TensorProto

    model = onnx.load_from_string(b)
    tensors = list(model.graph.initializer)
    tensors += [a.t for n in model.graph.node for a in n.attribute if a.type == a.TENSOR]
    if not tensors:
        return b
    t = draw(st.sampled_from(tensors))
    what = draw(st.sampled_from(["dims", "type", "raw", "field", "external", "segment", "name"]))
    if what == "dims":
        del t.dims[:]
        t.dims.extend(draw(st.sampled_from([[10**12], [10**6, 10**6], [2**62, 4], [-1], [-3, -4],
                                            [0], [1] * 70, [3, 2, 1], [2**63 - 1]])))
    elif what == "type":
        t.data_type = draw(st.integers(0, 40))
    elif what == "raw":
        raw = t.raw_data or np.zeros(4, np.float32).tobytes()
        t.raw_data = draw(st.sampled_from([raw[:-1], raw + b"\0", b"", raw * 3]))
    elif what == "field":
        t.ClearField("raw_data")
        del t.float_data[:]
        t.float_data.extend([1.0] * draw(st.integers(0, 9)))
    elif what == "external":
        t.data_location = TensorProto.EXTERNAL
        del t.external_data[:]
        for key, value in draw(st.sampled_from([[("location", "../../etc/passwd")],
                                                [("location", "/dev/zero"), ("length", str(10**12))],
                                                [("location", "missing.bin")],
                                                [("location", "case.onnx"), ("offset", "0"), ("length", "4")],
                                                [("location", "case.onnx"), ("length", str(2**62))]])):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
    elif what == "segment":
        t.segment.begin, t.segment.end = 0, 10**12
    else:
        t.name = draw(st.sampled_from(["", ".", "a..b", "training", "forward", "0", "_modules", "opset",
                                       "input.names", "input_names", "__dict__", "x", tensors[0].name,
                                       "é" * 300]))
    return model.SerializeToString()


def _onnx_graph_edit(draw, b):
    """Change a node: its operator, domain, inputs, outputs or an attribute's type and value."""
    import onnx
    from onnx import AttributeProto

    model = onnx.load_from_string(b)
    nodes = list(model.graph.node)
    what = draw(st.sampled_from(["op", "domain", "inputs", "attr", "opset", "outputs"]))
    if what == "opset":
        model.opset_import[0].version = draw(st.sampled_from([0, 1, 2**62, -5]))
        return model.SerializeToString()
    n = draw(st.sampled_from(nodes))
    if what == "op":
        n.op_type = draw(st.sampled_from(["Constant", "Conv", "Gemm", "Loop", "If", "", "Relu" * 50]))
    elif what == "domain":
        n.domain = draw(st.sampled_from(["ai.onnx", "com.microsoft", "x" * 100]))
    elif what == "inputs":
        del n.input[:]
        n.input.extend(draw(st.lists(st.sampled_from(["", "x", "w", "missing", "out"]), max_size=4)))
    elif what == "outputs":
        del n.output[:]
    else:
        a = n.attribute.add()
        a.name = draw(st.sampled_from(["value", "value_floats", "value_ints", "kernel_shape", "axis", "x"]))
        a.type = draw(st.sampled_from([AttributeProto.STRING, AttributeProto.TENSOR, AttributeProto.INTS,
                                       AttributeProto.GRAPH, AttributeProto.SPARSE_TENSOR, 0, 99]))
        a.s = draw(st.sampled_from([b"\xff\xfe", b"ok", b""]))
        a.ints.extend(draw(st.lists(st.sampled_from([0, -1, 2**62]), max_size=3)))
        a.t.dims.extend(draw(st.sampled_from([[10**12], [2], []])))
        a.t.data_type = draw(st.integers(0, 20))
    return model.SerializeToString()


def _onnx_not_utf8(draw, b):
    """A name (operator, node, tensor, input) whose bytes are not UTF-8: protobuf hands
    such a string field over as bytes."""
    names = [n for n in (b"MatMul", b"Constant", b"Conv", b"Gemm", b"Reshape", b"shape", b"input",
                         b"output", b"0.weight") if n in b]
    name = draw(st.sampled_from(names))
    return b.replace(name, b"\xff" + name[1:], 1)


def _load_onnx(path):
    return foveanet.onnx.load(path)


def _onnx_loader():
    from foveanet.interop.onnx_import import OnnxLoadError

    return Loader("onnx.load", _load_onnx, OnnxLoadError, ".onnx")


# -------------------------------------------------------------------------------- IDX
@functools.lru_cache(maxsize=None)
def _idx_bases() -> tuple:
    tmp = Path(tempfile.mkdtemp(prefix="hostile-idx-"))
    arrays = [np.arange(60, dtype=np.uint8).reshape(3, 4, 5), np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
              np.array([-2, 300, 7], np.int16), np.array(5, np.int32), np.zeros((0, 4), np.float64)]
    out = []
    for i, a in enumerate(arrays):
        out.append(write_idx(tmp / f"{i}.idx", a).read_bytes())
        out.append(write_idx(tmp / f"{i}.idx.gz", a).read_bytes())
    return tuple(out)


def _idx_header(draw, b):
    """Edit the (decompressed) header: dtype code, number of dimensions, a declared size
    (up to 2^32 - 1, so 2^31 images is among them); compress again when it was gzip."""
    gz = b[:2] == b"\x1f\x8b"
    raw = bytearray(gzip.decompress(b) if gz else b)
    what = draw(st.sampled_from(["code", "ndim", "size"]))
    if what == "code":
        raw[2] = draw(st.integers(0, 255))
    elif what == "ndim":
        raw[3] = draw(st.sampled_from([0, 1, 4, 9, 65, 255]))
    elif raw[3]:
        i = draw(st.integers(0, raw[3] - 1))
        raw[4 + 4 * i: 8 + 4 * i] = draw(st.sampled_from([0, 1, 2**31, 2**32 - 1, 60000])).to_bytes(4, "big")
    return gzip.compress(bytes(raw), mtime=0) if gz and draw(st.booleans()) else bytes(raw)


def _gzip_layer(draw, b):
    """Damage the decompressed bytes and compress them again, or add a second member."""
    if b[:2] != b"\x1f\x8b":
        return gzip.compress(b, mtime=0)
    inner = gzip.decompress(b)
    if draw(st.booleans()):
        return b + gzip.compress(draw(st.binary(max_size=16)), mtime=0)
    return gzip.compress(draw(st.sampled_from(GENERIC))(draw, inner), mtime=0)


READ_IDX = Loader("data.read_idx", read_idx, IDXError, ".idx")


# ----------------------------------------------------------------------------- images
CFG_L = {"input_shape": [1, 28, 28], "mean": [0.286], "std": [0.353], "augment": "none",
         "image_stats": {"border_mean": 0.0, "border_std": 0.02, "mean_range": [0.05, 0.6],
                         "std_range": [0.1, 0.5]}}
CFG_RGB = {"input_shape": [3, 16, 16], "mean": [0.5] * 3, "std": [0.25] * 3, "augment": "none"}


@functools.lru_cache(maxsize=None)
def _image_bases() -> tuple:
    from PIL import Image

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    rgb = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, rng.integers(0, 256, (10, 12, 1), dtype=np.uint8)], axis=2)
    images = [(Image.fromarray(grey), "PNG", {}), (Image.fromarray(rgb), "PNG", {}),
              (Image.fromarray(rgba), "PNG", {}), (Image.fromarray(rgb).convert("P"), "PNG", {"transparency": 3}),
              (Image.fromarray((grey.astype(np.uint16) * 257)), "PNG", {}),
              (Image.fromarray(rgb), "JPEG", {"quality": 80}), (Image.fromarray(grey), "JPEG", {}),
              (Image.fromarray(rgb), "BMP", {}), (Image.fromarray(rgb).convert("P"), "GIF", {}),
              (Image.fromarray(rgb), "TIFF", {}), (Image.fromarray(rgb), "WEBP", {"lossless": True}),
              (Image.fromarray(grey), "PPM", {})]
    out = []
    for im, fmt, kw in images:
        buf = io.BytesIO()
        if fmt == "JPEG" and im.mode == "RGB":   # a phone photo: rotated by its EXIF tag
            exif = Image.Exif()
            exif[0x0112] = 6
            kw = {**kw, "exif": exif.tobytes()}
        im.save(buf, fmt, **kw)
        out.append(buf.getvalue())
    return tuple(out)


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_size(draw, b):
    """A PNG whose IHDR declares another width and height, with a right checksum."""
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        return b
    w, h = (draw(st.sampled_from([0, 1, 3, 4000, 2**16, 2**31 - 1, 2**32 - 1])) for _ in range(2))
    ihdr = b[16:29]
    return b[:8] + _png_chunk(b"IHDR", struct.pack(">II", w, h) + ihdr[8:]) + b[33:]


def _read_for_model(path):
    """predict's reader, for a one-channel model with training statistics (polarity and
    distribution checks) and for an RGB one."""
    from foveanet.train.image_input import read_for_model

    return read_for_model(path, CFG_L), read_for_model(path, CFG_RGB)


READ_IMAGE = Loader("train.image_input.read_for_model", _read_for_model, ImageFileError, ".img")


# ------------------------------------------------------------------------------- text
@functools.lru_cache(maxsize=None)
def _text_bases() -> dict:
    rows = [{"id": "vim", "text": "Vi IMproved, a text editor", "labels": ["use::editing", "role::program"]},
            {"id": "7", "text": "arcade shooter", "label": "use::gameplaying"},
            {"text": "no id here", "labels": ["x"]}]
    jsonl = "".join(json.dumps(r) + "\n" for r in rows).encode()
    csv = b'id,text,labels\nvim,"Vi IMproved, a ""text"" editor",use::editing|role::program\n7,shooter,use::gameplaying\n'
    tsv = b"text\tlabel\nfoo bar\tpos\nbaz\tneg\n"
    return {".jsonl": (jsonl, gzip.compress(jsonl, mtime=0)), ".csv": (csv, gzip.compress(csv, mtime=0)),
            ".tsv": (tsv, gzip.compress(tsv, mtime=0))}


TEXT_LINES = [b"[" * 100_000 + b"\n", b'{"text": "x", "labels": ["a"], "id": ' + b"9" * 5000 + b"}\n",
              b"\xff\xfe\xfa\n", b"\x00\x00\n", b'"unclosed, quote\n', b"x" * 200_000 + b"\n",
              b'{"text": 5, "labels": "a"}\n', b'{"text": "t", "labels": [1, null]}\n', b"\r\r\r",
              b"\xef\xbb\xbf" + b"text,labels\n", b'{"text": "t", "label": {"a": 1}}\n', b"1e999999\n",
              b'{"text": "\\ud800", "labels": ["a"]}\n', b"a,b,c,d,e,f\n", b"\t\t\t\n", b'"a"b"c\n']


def _text_line(draw, b):
    """Insert a hostile line (deep nesting, a 5,000-digit number, bytes that are not UTF-8,
    NULs, an unclosed quote, a field over csv's limit...), inside the gzip layer when there
    is one."""
    gz = b[:2] == b"\x1f\x8b"
    raw = gzip.decompress(b) if gz else b
    lines = raw.splitlines(keepends=True)
    i = draw(st.integers(0, len(lines)))
    lines.insert(i, draw(st.sampled_from(TEXT_LINES)))
    raw = b"".join(lines)
    return gzip.compress(raw, mtime=0) if gz else raw


def _read_documents(path):
    return read_documents(path, warn=False)


# ---------------------------------------------------------------------- the fuzz tests
def _cases():
    """(loader, strategy) per loader; built lazily, so that collecting the tests is cheap."""
    st_edits = (_safetensors_entry, _header_length)
    text = _text_bases()
    return {
        "load": lambda: (LOAD, mutated(_serialization_bases(), *st_edits, _structure)),
        "load_safetensors": lambda: (LOAD_SAFETENSORS, mutated(_safetensors_bases(), *st_edits)),
        "load_torch": lambda: (LOAD_TORCH, st.one_of(
            mutated(_torch_bases(), _torch_pickle_bytes, _torch_pickle_bytes, _torch_member, _torch_deflate),
            crafted_checkpoints())),
        "onnx_load": lambda: (_onnx_loader(), mutated(_onnx_bases(), _onnx_tensor_edit, _onnx_tensor_edit,
                                                      _onnx_graph_edit, _onnx_not_utf8)),
        "read_idx": lambda: (READ_IDX, mutated(_idx_bases(), _idx_header, _idx_header, _gzip_layer)),
        "read_for_model": lambda: (READ_IMAGE, mutated(_image_bases(), _png_size)),
        "jsonl": lambda: (Loader("data.text.read_documents (JSONL)", _read_documents, TextFileError, ".jsonl"),
                          mutated(text[".jsonl"], _text_line, _text_line, _gzip_layer)),
        "csv": lambda: (Loader("data.text.read_documents (CSV)", _read_documents, TextFileError, ".csv"),
                        mutated(text[".csv"], _text_line, _text_line, _gzip_layer)),
        "tsv": lambda: (Loader("data.text.read_documents (TSV)", _read_documents, TextFileError, ".tsv"),
                        mutated(text[".tsv"], _text_line, _text_line, _gzip_layer)),
    }


KINDS = ["load", "load_safetensors", "load_torch", "onnx_load", "read_idx", "read_for_model",
         "jsonl", "csv", "tsv"]
# the text reader is one loader, fuzzed in three formats that share the count: FAST (SLOW)
# files in all
SHARE = {"jsonl": 3, "csv": 3, "tsv": 3}


def _examples(kind, total):
    return -(-total // SHARE.get(kind, 1))


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_files_fuzzed(kind, tmp_path):
    loader, strategy = _cases()[kind]()
    fuzz(loader, strategy, _examples(kind, FAST), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_files_fuzzed_slow(kind, tmp_path):
    loader, strategy = _cases()[kind]()
    fuzz(loader, strategy, _examples(kind, SLOW), tmp_path)


# --------------------------------------------------------------- pickles that run code
class _Reduce:
    """Pickles as ``fn(*args)``: what a malicious checkpoint hides in its data.pkl."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _payloads(marker: Path) -> dict:
    """name -> an object whose unpickling would create ``marker``, and the global it names."""
    m = str(marker)
    return {
        "os.system": (_Reduce(os.system, f"touch {m}"), f"{os.system.__module__}.system"),
        "builtins.exec": (_Reduce(exec, f"open({m!r}, 'w').close()"), "builtins.exec"),
        "builtins.eval": (_Reduce(eval, f"open({m!r}, 'w').close()"), "builtins.eval"),
        "subprocess.call": (_Reduce(subprocess.call, ["touch", m]), "subprocess.call"),
        "subprocess.Popen": (_Reduce(subprocess.Popen, ["touch", m]), "subprocess.Popen"),
    }


def _pth(path: Path, data_pkl: bytes, storages: dict | None = None) -> Path:
    members = {"archive/data.pkl": data_pkl, "archive/byteorder": b"little", "archive/version": b"3\n"}
    members.update({f"archive/data/{k}": v for k, v in (storages or {}).items()})
    path.write_bytes(_zip(members))
    return path


def _unpickles_in_a_subprocess(data: bytes) -> None:
    """What plain pickle.loads does with the bytes: run in another process, so that this
    one never runs the payload."""
    subprocess.run([sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=data, check=False, timeout=60, capture_output=True)


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("name", ["os.system", "builtins.exec", "builtins.eval", "subprocess.call",
                                  "subprocess.Popen"])
def test_pickle_that_runs_code_is_refused_and_never_run(tmp_path, name, protocol):
    marker = tmp_path / "pwned"
    payload, global_name = _payloads(marker)[name]
    # hidden where a tensor would be, inside an ordinary state dict
    data = pickle.dumps(collections.OrderedDict(w=payload, epoch=1), protocol=protocol)
    pth = _pth(tmp_path / "evil.pth", data)
    with pytest.raises(TorchCheckpointError) as err:
        load_torch(pth)
    assert f"refusing to load '{global_name}' from evil.pth" in str(err.value)
    assert not marker.exists()
    _unpickles_in_a_subprocess(data)   # the payload is live: only the refusal stopped it
    assert marker.exists()


def _opcode_pickles(marker: Path) -> dict:
    """The same payload through each opcode that names a global: GLOBAL+REDUCE, INST, OBJ,
    STACK_GLOBAL, NEWOBJ, and inside a persistent id and a tensor's arguments."""
    cmd = f"touch {marker}".encode()
    say = b"V" + cmd + b"\n"
    short = bytes([0x8c, len(cmd)]) + cmd
    return {
        "GLOBAL": b"cos\nsystem\n(" + say + b"tR.",
        "INST": b"(" + say + b"ios\nsystem\n.",
        "OBJ": b"\x80\x02(cos\nsystem\n" + b"X" + struct.pack("<I", len(cmd)) + cmd + b"o.",
        "STACK_GLOBAL": b"\x80\x04\x8c\x02os\x8c\x06system\x93" + short + b"\x85R.",
        "NEWOBJ": b"\x80\x02csubprocess\nPopen\n]" + b"X\x05\x00\x00\x00touchX" + struct.pack("<I", len(str(marker)))
                  + str(marker).encode() + b"e\x85\x81.",
        "persistent id": b"\x80\x02(X\x07\x00\x00\x00storagecos\nsystem\n(" + say + b"tRX\x01\x00\x00\x000X\x03"
                         b"\x00\x00\x00cpuK\x01tQ.",
        "tensor argument": b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(cos\nsystem\n(" + say + b"tRK\x00"
                           b"K\x01\x85K\x01\x85tR.",
    }


@pytest.mark.parametrize("opcode", ["GLOBAL", "INST", "OBJ", "STACK_GLOBAL", "NEWOBJ", "persistent id",
                                    "tensor argument"])
def test_every_opcode_that_names_a_global_goes_through_the_whitelist(tmp_path, opcode):
    marker = tmp_path / "pwned"
    data = _opcode_pickles(marker)[opcode]
    with pytest.raises(TorchCheckpointError, match=r"refusing to load '(os|posix|subprocess)\.(system|Popen)' "
                                                    r"from evil\.pth"):
        load_torch(_pth(tmp_path / "evil.pth", data))
    assert not marker.exists()
    # NEWOBJ calls only Popen.__new__, so nothing would run; the tensor argument's payload is
    # GLOBAL's, and unpickling it would import torch first (seconds)
    if opcode not in ("NEWOBJ", "tensor argument"):
        _unpickles_in_a_subprocess(data)
        assert marker.exists(), "the hand-written payload does not work: the test proves nothing"


def test_whitelisted_globals_cannot_be_changed_by_build(tmp_path):
    """BUILD with a slot state would setattr on the global (a function's __defaults__, a
    storage type's dtype): refused, and the next load is unaffected."""
    for target in (b"ctorch._utils\n_rebuild_parameter\n", b"ctorch\nFloatStorage\n", b"c_codecs\nencode\n"):
        data = b"\x80\x02" + target + b"N}X\x0c\x00\x00\x00__defaults__K\x07\x85s\x86b."
        with pytest.raises(TorchCheckpointError, match="evil.pth.*sets the state of"):
            load_torch(_pth(tmp_path / "evil.pth", data))
    save_torch({"w": np.ones(2, np.float32)}, tmp_path / "ok.pt")
    np.testing.assert_array_equal(load_torch(tmp_path / "ok.pt")["w"], np.ones(2, np.float32))


def test_legacy_checkpoint_is_refused_with_a_way_out(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    with pytest.raises(TorchCheckpointError, match=r"old\.pth is in PyTorch's legacy \(pre-1\.6\) format.*"
                                                     r"never unpickles.*Re-save it"):
        load_torch(tmp_path / "old.pth")


# ------------------------------------------------------- huge declarations, small files
def _declared_storage(numel):
    """A 1 KB .pth whose one storage declares ``numel`` float32 elements and holds 16 bytes."""
    storage = torch_pt._StorageRef("0", "f4", numel)
    return _pth_bytes({"w": torch_pt._TensorRef(storage, (numel,))}, {"0": b"\0" * 16})


def _pth_bytes(obj, storages):
    members = {"archive/data.pkl": _pickle_torch(obj), "archive/byteorder": b"little",
               "archive/version": b"3\n"}
    members.update({f"archive/data/{k}": v for k, v in storages.items()})
    return _zip(members)


def _expanded(size, stride):
    """A .pth whose tensor repeats a 4-element storage (stride 0) to ``size``."""
    storage = torch_pt._StorageRef("0", "f4", 4)
    return _pth_bytes({"w": _Layout(storage, 0, size, stride)}, {"0": b"\0" * 16})


def _many_views(n, numel):
    """One storage of ``numel`` float32 and ``n`` tensors, each the whole of it."""
    storage = torch_pt._StorageRef("0", "f4", numel)
    return _pth_bytes({f"t{i}": torch_pt._TensorRef(storage, (numel,)) for i in range(n)},
                      {"0": b"\0" * (4 * numel)})


def _quadratic_pickle(items, calls):
    """A pickle that memoises a list of ``items`` ints and passes it to torch.Size ``calls``
    times, keeping every copy: items x calls pointers from a file of items + 6 calls bytes."""
    body = b"\x80\x02]q\x00(" + b"K\x01" * items + b"e0"       # the list, memo 0
    body += b"ctorch\nSize\nq\x010]"                             # the global, memo 1; the result list
    body += b"h\x01h\x00\x85Ra" * calls                            # result.append(Size(list))
    return _zip({"archive/data.pkl": body + b".", "archive/version": b"3\n"})


def _onnx_declared(dims, raw=True):
    """A graph whose one initializer declares ``dims`` and holds a single float (onnx's
    helper would refuse to make it: the bytes are written directly)."""
    from onnx import TensorProto, helper

    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=dims)
    if raw:
        t.raw_data = np.zeros(1, np.float32).tobytes()
    else:
        t.float_data.append(0.0)
    graph = helper.make_graph([helper.make_node("Relu", ["w"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[t])
    return helper.make_model(graph).SerializeToString()


def _overlapping(n, nbytes):
    """A safetensors file whose ``n`` tensors all claim the one ``nbytes`` buffer."""
    entry = {"dtype": "U8", "shape": [nbytes], "data_offsets": [0, nbytes]}
    return _join_safetensors({f"t{i}": entry for i in range(n)}, bytes(nbytes))


def _idx_declared(n, gz):
    raw = bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28) + bytes(1000)
    return gzip.compress(raw, mtime=0) if gz else raw


def _png_declared(w, h):
    """A PNG whose IHDR declares w x h grey pixels, with 100 bytes of pixel data."""
    data = zlib.compress(bytes(100), 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b""))


def _webp_blank(side):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (side, side)).save(buf, "WEBP", lossless=True)
    return buf.getvalue()


# name -> (loader, suffix, the file's bytes, what the message says)
HUGE_CASES = {
    "pth storage of 10^12 elements": ("load_torch", ".pth", lambda: _declared_storage(10**12),
                                      r"storage of 1000000000000 elements.*holds 16 bytes"),
    "pth tensor of 10^12 elements, stride 0": ("load_torch", ".pth", lambda: _expanded((10**6, 10**6), (0, 0)),
                                               "would take the load past"),
    "pth storage read by 400 tensors": ("load_torch", ".pth", lambda: _many_views(400, 64 * 1024),
                                        "would take the load past"),
    "pth list copied by 10,000 calls": ("load_torch", ".pth", lambda: _quadratic_pickle(10_000, 10_000),
                                        "would take the load past"),
    "onnx initializer of 10^12 elements": ("onnx_load", ".onnx", lambda: _onnx_declared([10**6, 10**6]),
                                           r"declares dims \[1000000, 1000000\].*holds 4 bytes"),
    "onnx initializer of 10^12 floats in float_data": ("onnx_load", ".onnx",
                                                       lambda: _onnx_declared([10**12], raw=False),
                                                       r"holds 1 values in float_data, expected 1000000000000"),
    "idx header of 2^31 images": ("read_idx", ".idx", lambda: _idx_declared(2**31, False),
                                  r"truncated data: shape \(2147483648, 28, 28\)"),
    "idx.gz header of 2^31 images": ("read_idx", ".idx.gz", lambda: _idx_declared(2**31, True),
                                     "more than a .*-byte gzip file can hold"),
    "idx header of 255 dimensions": ("read_idx", ".idx", lambda: bytes([0, 0, 8, 255]) + b"\xff" * 1020,
                                     "255 dimensions"),
    "safetensors header of 2^60 bytes": ("load", ".safetensors",
                                         lambda: (2**60).to_bytes(8, "little") + b"{}" + bytes(1000),
                                         "header length 1152921504606846976 out of range"),
    "foveanet structure naming a 10 GB numpy.void": (
        "load", ".safetensors",
        lambda: _join_safetensors({"__metadata__": {"foveanet.structure": '{"x": {"__numpy__": "void", '
                                                                          '"value": 10000000000}}'}}, b""),
        "names NumPy type 'void'"),
    "safetensors header of 2^60 bytes (interop)": ("load_safetensors", ".safetensors",
                                                   lambda: (2**60).to_bytes(8, "little") + b"{}" + bytes(1000),
                                                   "header length 1152921504606846976 out of range"),
    "safetensors tensor of 10^12 elements": (
        "load_safetensors", ".safetensors",
        lambda: _join_safetensors({"w": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4 * 10**12]}},
                                  bytes(1000)), "the header describes 4000000000000 bytes"),
    "safetensors buffer read by 400 tensors": ("load_safetensors", ".safetensors", lambda: _overlapping(400, 1 << 18),
                                               "overlaps the tensor before it"),
    "png header of 2^31 pixels": ("read_for_model", ".png", lambda: _png_declared(2**16, 2**15),
                                  "could be decompression bomb"),
    "png header of 10^8 pixels": ("read_for_model", ".png", lambda: _png_declared(10**4, 10**4),
                                  r"declares 10000x10000 = 100000000 pixels, more than a \d+-byte file holds"),
    "blank lossless webp of 8000x8000": ("read_for_model", ".webp", lambda: _webp_blank(8000),
                                         r"declares 8000x8000 = 64000000 pixels"),
}


def _huge_loader(kind):
    return {"load": LOAD, "load_safetensors": LOAD_SAFETENSORS, "load_torch": LOAD_TORCH, "read_idx": READ_IDX,
            "read_for_model": READ_IMAGE, "onnx_load": None}[kind] or _onnx_loader()


@pytest.mark.parametrize("case", sorted(HUGE_CASES))
def test_huge_declaration_in_a_small_file_is_refused_without_the_memory(tmp_path, case):
    kind, suffix, make, message = HUGE_CASES[case]
    if kind == "onnx_load":
        pytest.importorskip("onnx")
    blob = make()
    loader = _huge_loader(kind)
    path = tmp_path / f"hostile{suffix}"
    path.write_bytes(blob)
    tracemalloc.start()
    try:
        with pytest.raises(loader.error, match=message) as err, _time_limit(HANG_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # Pillow's DecompressionBombWarning comes before the refusal
            loader.call(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path.name in str(err.value)
    print(f"{case}: {len(blob)}-byte file refused, tracemalloc peak {peak / MiB:.2f} MiB")
    assert peak < 100 * MiB, f"{case}: loading a {len(blob)}-byte file took {peak / MiB:.0f} MiB"


_RSS_SCRIPT = """
import resource, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
from tests.interop import test_hostile_files as t


def peak():  # the process's peak resident size in bytes, since the last reset
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak():  # Linux: writing 5 to clear_refs resets VmHWM to the current size
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


for case, path in zip(sys.argv[2::2], sys.argv[3::2]):
    loader = t._huge_loader(t.HUGE_CASES[case][0])
    reset_peak()
    before = peak()
    try:
        loader.call(path)
        outcome = "loaded"
    except loader.error:
        outcome = "refused"
    print(case, outcome, peak() - before, sep="\\t")
"""


def test_huge_declarations_grow_the_process_by_less_than_100_mb(tmp_path):
    """tracemalloc sees Python and NumPy; Pillow and protobuf allocate in C: the resident
    size of a fresh process that loads every hostile file, after the imports."""
    pytest.importorskip("onnx")
    args = []
    for i, (case, (kind, suffix, make, _)) in enumerate(sorted(HUGE_CASES.items())):
        path = tmp_path / f"{i}{suffix}"
        path.write_bytes(make())
        args += [case, str(path)]
    warm = ("import numpy, onnx, PIL.Image, foveanet.interop, foveanet.onnx, foveanet.data, "
            "foveanet.train.image_input, foveanet.serialization\n")
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", warm + _RSS_SCRIPT, root, *args], capture_output=True,
                         text=True, timeout=300, cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert len(rows) == len(HUGE_CASES)
    for case, outcome, grew in rows:
        print(f"{case}: {outcome}, resident size grew by {int(grew) / MiB:.1f} MiB")
        assert outcome == "refused", case
        assert int(grew) < 100 * MiB, f"{case}: the process grew by {int(grew) / MiB:.0f} MiB"


# -------------------------------------------------------------------------- text files
_ROW = b'{"text": "a", "labels": ["x"]}\n'
TEXT_CASES = {
    "deep nesting": (_ROW + b"[" * 100_000 + b"\n", r"docs\.jsonl:2: malformed JSON \(RecursionError"),
    "5,000-digit id": (b'{"text": "a", "labels": ["x"], "id": ' + b"9" * 5000 + b"}\n",
                       r"docs\.jsonl:1: malformed JSON \(ValueError"),
    "latin-1 byte": (b'{"text": "caf\xe9", "labels": ["x"]}\n', r"docs\.jsonl: not UTF-8 text \(at or after line 1"),
    "cut gzip": (gzip.compress(_ROW * 50, mtime=0)[:-12], r"docs\.jsonl: truncated or corrupt gzip"),
    "gzip + garbage": (gzip.compress(_ROW, mtime=0) + b"garbage", r"docs\.jsonl: truncated or corrupt gzip"),
}


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_text_reader_turns_decoding_failures_into_its_error(tmp_path, case):
    content, message = TEXT_CASES[case]
    path = tmp_path / "docs.jsonl"
    path.write_bytes(content)
    with pytest.raises(TextFileError, match=message):
        read_documents(path)
