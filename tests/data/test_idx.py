import gzip
import struct

import numpy as np
import pytest

from foveanet.data.idx import IDXError, read_idx, read_idx_header, write_idx

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_every_dtype(tmp_path, rng, dtype, gz):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info:
        a = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    else:
        a = rng.standard_normal((3, 4, 5)).astype(dtype)
    path = write_idx(tmp_path / ("a.idx.gz" if gz else "a.idx"), a)
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    # header worked out by hand: 0 0 code ndim, then big-endian sizes, then big-endian data
    assert raw[:4] == bytes([0, 0, CODES[dtype], 3])
    assert struct.unpack(">3I", raw[4:16]) == (3, 4, 5)
    assert raw[16:] == a.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.flags.writeable
    np.testing.assert_array_equal(a, b)


def test_compression_is_detected_by_magic_not_name(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_plain = write_idx(tmp_path / "x.gz", a, compress=False)
    plain_named_gz = write_idx(tmp_path / "x.idx", a, compress=True)
    np.testing.assert_array_equal(read_idx(gz_named_plain), a)
    np.testing.assert_array_equal(read_idx(plain_named_gz), a)
    assert read_idx_header(plain_named_gz) == (np.dtype(np.uint8), (3, 4))


def test_zero_dim_and_empty(tmp_path):
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "s", np.array(7, np.int32))), 7)
    assert read_idx(write_idx(tmp_path / "e", np.zeros((0, 28, 28), np.uint8))).shape == (0, 28, 28)


def test_bad_magic_names_file(tmp_path):
    p = tmp_path / "bogus-images"
    p.write_bytes(b"\x00\x01\x08\x03" + b"\x00" * 20)
    with pytest.raises(IDXError, match="bogus-images.*bad magic"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")  # 0x07 is no IDX type
    with pytest.raises(ValueError, match="bogus-images.*bad magic"):
        read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data_reports_expected_and_actual(tmp_path, gz):
    a = np.zeros((10, 28, 28), np.uint8)
    full = bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28) + a.tobytes()
    cut = full[:16 + 5000]
    p = tmp_path / "short-images"
    p.write_bytes(gzip.compress(cut) if gz else cut)
    with pytest.raises(IDXError, match=r"short-images.*7840 bytes.*5000"):
        read_idx(p)


def test_truncated_gzip_stream_and_header(tmp_path):
    p = write_idx(tmp_path / "cut.gz", np.ones((100, 100), np.float32))
    p.write_bytes(p.read_bytes()[:-20])
    with pytest.raises(IDXError, match="cut.gz.*truncated"):
        read_idx(p)
    q = tmp_path / "hdr"
    q.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(IDXError, match=r"hdr: truncated header.*12 bytes, got 2"):
        read_idx(q)


def test_trailing_bytes_and_unsupported_dtype(tmp_path):
    p = write_idx(tmp_path / "t", np.ones(4, np.uint8))
    p.write_bytes(p.read_bytes() + b"\x00")
    with pytest.raises(IDXError, match="trailing"):
        read_idx(p)
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "u", np.ones(3, np.int64))
