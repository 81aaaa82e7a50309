import builtins
import errno
import gzip
import os
import re
import tracemalloc
from urllib.error import URLError

import numpy as np
import pytest
from sklearn.utils import Bunch

from sklearn_jaxmlp import datasets
from sklearn_jaxmlp.datasets import (
    FASHION_MNIST_DIR,
    load_dataset,
    load_digits_split,
    load_fashion_mnist,
    load_idx_folder,
    load_mnist,
    read_idx,
)

TYPE_CODES = {
    "uint8": 0x08,
    "int8": 0x09,
    "int16": 0x0B,
    "int32": 0x0C,
    "float32": 0x0D,
    "float64": 0x0E,
}
DASH_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
DOT_NAMES = tuple(name.replace("-idx", ".idx") for name in DASH_NAMES)


def idx_header(type_code, shape):
    """Encode an IDX header by hand."""
    sizes = b"".join(size.to_bytes(4, "big") for size in shape)
    return bytes([0, 0, type_code, len(shape)]) + sizes


def idx_bytes(array):
    """Encode an array as IDX bytes, independently of the reader."""
    array = np.asarray(array)
    header = idx_header(TYPE_CODES[array.dtype.name], array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_file(path, content, compress=False):
    """Write bytes to ``path``, gzip-compressed if asked, and return it."""
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


def write_idx(path, array, compress=False):
    return write_file(path, idx_bytes(array), compress)


def sample_array(dtype_name, shape):
    """Values that exercise sign, byte order and the extremes of a type."""
    dtype = np.dtype(dtype_name)
    size = int(np.prod(shape))
    if dtype.kind == "f":
        values = np.linspace(-3.5, 1e3, size) * np.pi
        values[0] = np.finfo(dtype).max
    else:
        info = np.iinfo(dtype)
        values = np.linspace(info.min, info.max, size).round()
    return values.astype(dtype).reshape(shape)


def make_folder(
    folder, names=DASH_NAMES, compress=(False,) * 4, n_train=6, n_test=4, side=3
):
    """Write a tiny MNIST-style folder and return the arrays written."""
    rng = np.random.default_rng(0)
    arrays = (
        rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    )
    folder.mkdir(exist_ok=True)
    for name, array, packed in zip(names, arrays, compress, strict=True):
        write_idx(folder / (name + (".gz" if packed else "")), array, packed)
    return arrays


def pinned(path, reason):
    """A ``match`` pattern that pins both the file path and the reason."""
    return re.escape(f"'{path}'") + ".*" + reason


def deny(monkeypatch, module, name, denied):
    """Make ``module.name`` raise PermissionError for paths under ``denied``,
    as it would for a user without the rights (root has them all)."""
    real = getattr(module, name, None) or getattr(builtins, name)

    def denying(path, *args, **kwargs):
        if str(path).startswith(str(denied)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(module, name, denying, raising=False)


# read_idx: round trips


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)], ids=["1d", "3d"])
@pytest.mark.parametrize("dtype_name", list(TYPE_CODES))
def test_read_idx_round_trip(tmp_path, dtype_name, shape, compress):
    expected = sample_array(dtype_name, shape)
    path = write_idx(tmp_path / "data-idx-ubyte", expected, compress)

    data = read_idx(path)

    assert data.dtype == np.dtype(dtype_name)
    assert data.dtype.isnative
    assert data.shape == shape
    assert data.flags.writeable
    np.testing.assert_array_equal(data, expected)


def test_read_idx_detects_gzip_by_magic_not_by_extension(tmp_path):
    expected = np.arange(4, dtype=np.int16)
    packed = write_idx(tmp_path / "packed-idx1-ubyte", expected, compress=True)
    plain = write_idx(tmp_path / "plain-idx1-ubyte.gz", expected)

    np.testing.assert_array_equal(read_idx(packed), expected)
    np.testing.assert_array_equal(read_idx(str(plain)), expected)


def test_read_idx_accepts_empty_dimensions(tmp_path):
    path = write_idx(tmp_path / "empty-idx2-ubyte", np.zeros((0, 7), np.uint8))

    assert read_idx(path).shape == (0, 7)


# read_idx: errors


def test_read_idx_missing_file(tmp_path):
    path = tmp_path / "absent-idx1-ubyte"

    with pytest.raises(FileNotFoundError, match=pinned(path, "does not exist")):
        read_idx(path)


def test_read_idx_folder_instead_of_file(tmp_path):
    with pytest.raises(ValueError, match=pinned(tmp_path, "not a regular file")):
        read_idx(tmp_path)


def test_read_idx_symbolic_link_loop(tmp_path):
    path = tmp_path / "a-idx1-ubyte"
    path.symlink_to(tmp_path / "b-idx1-ubyte")
    (tmp_path / "b-idx1-ubyte").symlink_to(path)

    reason = "cannot be opened: .*; its symbolic links form a loop"
    with pytest.raises(OSError, match=pinned(path, reason)) as info:
        read_idx(path)
    assert info.value.errno == errno.ELOOP
    assert not isinstance(info.value, FileNotFoundError)


def test_read_idx_broken_symbolic_link(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.symlink_to(tmp_path / "gone")

    reason = re.escape(f"is a symbolic link to '{tmp_path / 'gone'}', which does")
    with pytest.raises(FileNotFoundError, match=pinned(path, reason)):
        read_idx(path)


def test_read_idx_unreadable_file(tmp_path, monkeypatch):
    path = write_idx(tmp_path / "x-idx1-ubyte", np.arange(3, dtype=np.uint8))
    deny(monkeypatch, datasets, "open", path)

    reason = "cannot be read: Permission denied; check the read and search"
    with pytest.raises(PermissionError, match=pinned(path, reason)) as info:
        read_idx(path)
    assert info.value.errno == errno.EACCES


def test_read_idx_in_a_folder_that_cannot_be_searched(tmp_path, monkeypatch):
    path = write_idx(tmp_path / "x-idx1-ubyte", np.arange(3, dtype=np.uint8))
    deny(monkeypatch, os, "stat", path)

    reason = "cannot be opened: Permission denied; check the read and search"
    with pytest.raises(PermissionError, match=pinned(path, reason)):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_bad_magic_shows_bytes(tmp_path, compress):
    path = write_file(tmp_path / "x-idx1-ubyte", b"PK\x03\x04rest", compress)

    reason = "is not an IDX file: it starts with the bytes 50 4b 03 04"
    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


def test_read_idx_unknown_type_code(tmp_path):
    path = write_file(tmp_path / "x-idx1-ubyte", idx_header(0x0A, (2,)) + b"ab")

    reason = r"unknown type code 0x0A; expected one of 0x08 \(uint8\)"
    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "truncated header: expected a 4-byte magic number, found 0 bytes"),
        (b"\0\0\x08", "truncated header: expected a 4-byte magic number, found 3"),
        (
            idx_header(0x08, (1, 2, 3))[:9],
            "truncated header: 3 dimensions need 12 bytes of sizes after the "
            "magic number, found 5",
        ),
    ],
    ids=["empty", "short-magic", "short-sizes"],
)
def test_read_idx_truncated_header(tmp_path, content, reason, compress):
    path = write_file(tmp_path / "x-idx3-ubyte", content, compress)

    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


def test_read_idx_zero_dimensions(tmp_path):
    path = write_file(tmp_path / "x-idx0-ubyte", b"\0\0\x08\0\x07")

    with pytest.raises(ValueError, match=pinned(path, "declares 0 dimensions")):
        read_idx(path)


@pytest.mark.parametrize("n_dims", [33, 255])
def test_read_idx_too_many_dimensions(tmp_path, n_dims):
    content = idx_header(0x08, (1,) * n_dims) + b"\x07"
    path = write_file(tmp_path / "x-idx-ubyte", content)

    reason = f"declares {n_dims} dimensions; expected 1 to 32"
    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


def test_read_idx_accepts_32_dimensions(tmp_path):
    content = idx_header(0x08, (1,) * 32) + b"\x07"
    path = write_file(tmp_path / "x-idx-ubyte", content)

    assert read_idx(path).shape == (1,) * 32


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_truncated_data(tmp_path, compress):
    content = idx_bytes(np.arange(3, dtype=np.int16))[:-2]
    path = write_file(tmp_path / "x-idx1-ubyte", content, compress)

    reason = re.escape(
        "is truncated: expected 6 bytes of data after the header "
        "(shape (3,), int16), found 4"
    )
    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_trailing_bytes(tmp_path, compress):
    content = idx_bytes(np.arange(3, dtype=np.int16)) + b"\0"
    path = write_file(tmp_path / "x-idx1-ubyte", content, compress)

    reason = re.escape("has trailing bytes: the header declares shape (3,) of int16")
    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


def test_read_idx_reads_no_further_than_the_declared_size(tmp_path):
    content = idx_bytes(np.arange(4, dtype=np.uint8)) + bytes(16 << 20)
    path = write_file(tmp_path / "long-idx1-ubyte", content)

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="trailing bytes"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_read_idx_large_declared_size_is_reported_not_allocated(tmp_path):
    content = idx_header(0x08, (2**20, 2**20)) + bytes(10)
    path = write_file(tmp_path / "large-idx2-ubyte", content)

    reason = f"expected {2**40} bytes of data after the header"
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=pinned(path, reason) + ".*found 10"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One read chunk at most, not the terabyte declared
    assert peak < 2 * datasets._READ_CHUNK


@pytest.mark.parametrize(
    "type_code, type_name, shape",
    [
        (0x0E, "float64", (2**32 - 1,) * 3),
        (0x08, "uint8", (0, 2**32 - 1, 2**32 - 1)),
    ],
    ids=["huge", "huge-but-empty"],
)
def test_read_idx_shape_too_large_for_an_array(tmp_path, type_code, type_name, shape):
    content = idx_header(type_code, shape) + bytes(10)
    path = write_file(tmp_path / "huge-idx3-ubyte", content)

    reason = re.escape(f"declares shape {shape} of {type_name}, too large for an array")
    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


def _truncated_gzip():
    return gzip.compress(idx_bytes(np.arange(50, dtype=np.int32)))[:-12]


def _bad_crc_gzip():
    packed = bytearray(gzip.compress(idx_bytes(np.arange(5, dtype=np.uint8))))
    packed[-8] ^= 0xFF
    return bytes(packed)


@pytest.mark.parametrize(
    "content",
    [
        _truncated_gzip(),
        _bad_crc_gzip(),
        b"\x1f\x8b\x07\x00" + bytes(20),
        b"\x1f\x8b",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 20,
    ],
    ids=["truncated", "bad-crc", "unknown-method", "magic-only", "bad-deflate"],
)
def test_read_idx_corrupt_gzip(tmp_path, content):
    path = write_file(tmp_path / "x-idx1-ubyte.gz", content)

    reason = "is gzip-compressed, but its gzip stream is truncated or corrupt"
    with pytest.raises(ValueError, match=pinned(path, reason)):
        read_idx(path)


# load_idx_folder


@pytest.mark.parametrize(
    "names", [DASH_NAMES, DOT_NAMES, DOT_NAMES[:2] + DASH_NAMES[2:]]
)
@pytest.mark.parametrize(
    "compress",
    [(False,) * 4, (True,) * 4, (True, False, False, True)],
    ids=["raw", "gzip", "mixed"],
)
def test_load_idx_folder(tmp_path, names, compress):
    expected = make_folder(tmp_path / "mnist", names, compress)

    arrays = load_idx_folder(tmp_path / "mnist")

    assert len(arrays) == 4
    for array, wanted in zip(arrays, expected, strict=True):
        assert array.dtype == np.uint8
        np.testing.assert_array_equal(array, wanted)


def test_load_idx_folder_missing_folder(tmp_path):
    folder = tmp_path / "absent"

    with pytest.raises(FileNotFoundError, match=pinned(folder, "does not exist")):
        load_idx_folder(folder)


def test_load_idx_folder_lists_missing_files(tmp_path):
    make_folder(tmp_path)
    (tmp_path / DASH_NAMES[1]).unlink()
    (tmp_path / DASH_NAMES[2]).unlink()

    reason = re.escape(
        "is missing 2 of the 4 files: train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte (looked for train-labels-idx1-ubyte as "
        "train-labels-idx1-ubyte, train-labels-idx1-ubyte.gz, "
        "train-labels.idx1-ubyte, train-labels.idx1-ubyte.gz; "
        "t10k-images-idx3-ubyte as t10k-images-idx3-ubyte"
    )
    with pytest.raises(FileNotFoundError, match=pinned(tmp_path, reason)):
        load_idx_folder(tmp_path)


@pytest.mark.parametrize("part", ["train", "test"])
def test_load_idx_folder_rejects_an_empty_part(tmp_path, part):
    make_folder(tmp_path, **{f"n_{part}": 0})
    images = tmp_path / DASH_NAMES[0 if part == "train" else 2]

    reason = "holds 0 images; a data set needs at least one"
    with pytest.raises(ValueError, match=pinned(images, reason)):
        load_idx_folder(tmp_path)


def test_load_idx_folder_rejects_images_without_pixels(tmp_path):
    make_folder(tmp_path)
    write_idx(tmp_path / DASH_NAMES[0], np.zeros((6, 0, 3), np.uint8))
    write_idx(tmp_path / DASH_NAMES[2], np.zeros((4, 0, 3), np.uint8))

    reason = "holds images of 0x3 pixels; expected at least one pixel"
    with pytest.raises(ValueError, match=pinned(tmp_path / DASH_NAMES[0], reason)):
        load_idx_folder(tmp_path)


def _loop(path):
    path.symlink_to(path.with_name("other"))
    path.with_name("other").symlink_to(path)


@pytest.mark.parametrize(
    "make_entry, error, reason",
    [
        (_loop, OSError, "cannot be opened: .*symbolic links form a loop"),
        (lambda path: path.symlink_to("gone"), FileNotFoundError, "link to 'gone'"),
        (lambda path: path.mkdir(), ValueError, "is not a regular file"),
    ],
    ids=["loop", "broken-link", "folder"],
)
def test_load_idx_folder_reports_why_a_file_is_unusable(
    tmp_path, make_entry, error, reason
):
    make_folder(tmp_path)
    path = tmp_path / DASH_NAMES[1]
    path.unlink()
    make_entry(path)

    with pytest.raises(error, match=pinned(path, reason)):
        load_idx_folder(tmp_path)


def test_load_idx_folder_prefers_a_usable_spelling(tmp_path):
    expected = make_folder(tmp_path, DOT_NAMES)
    (tmp_path / DASH_NAMES[0]).symlink_to("gone")

    np.testing.assert_array_equal(load_idx_folder(tmp_path)[0], expected[0])


def test_load_idx_folder_symbolic_link_loop(tmp_path):
    folder = tmp_path / "mnist"
    _loop(folder)

    reason = "cannot be opened: .*symbolic links form a loop"
    with pytest.raises(OSError, match=pinned(folder, reason)) as info:
        load_idx_folder(folder)
    assert not isinstance(info.value, FileNotFoundError)


def test_load_idx_folder_that_cannot_be_searched(tmp_path, monkeypatch):
    make_folder(tmp_path / "mnist")
    deny(monkeypatch, os, "stat", tmp_path / "mnist" / "t")

    reason = re.escape(
        "cannot be searched: Permission denied; it needs search (execute) permission"
    )
    with pytest.raises(PermissionError, match=pinned(tmp_path / "mnist", reason)):
        load_idx_folder(tmp_path / "mnist")


def test_load_idx_folder_mismatched_counts(tmp_path):
    make_folder(tmp_path)
    labels = write_idx(tmp_path / DASH_NAMES[3], np.zeros(5, np.uint8))
    images = tmp_path / DASH_NAMES[2]

    message = re.escape(
        f"IDX file '{images}' holds 4 images but '{labels}' holds 5 labels"
    )
    with pytest.raises(ValueError, match=message):
        load_idx_folder(tmp_path)


@pytest.mark.parametrize(
    "index, array, reason",
    [
        (0, np.zeros((6, 9), np.uint8), r"shape \(6, 9\); expected 3-d images"),
        (1, np.zeros((6, 1), np.uint8), r"shape \(6, 1\); expected 1-d labels"),
        (2, np.zeros((4, 3, 3), np.int16), "holds int16 values; expected uint8"),
        (3, np.zeros(4, np.float32), "holds float32 values; expected uint8"),
    ],
    ids=["images-2d", "labels-2d", "images-int16", "labels-float32"],
)
def test_load_idx_folder_checks_arrays(tmp_path, index, array, reason):
    make_folder(tmp_path)
    path = write_idx(tmp_path / DASH_NAMES[index], array)

    with pytest.raises(ValueError, match=pinned(path, reason)):
        load_idx_folder(tmp_path)


def test_load_idx_folder_train_and_test_image_sizes_differ(tmp_path):
    make_folder(tmp_path)
    write_idx(tmp_path / DASH_NAMES[2], np.zeros((4, 2, 2), np.uint8))

    reason = re.escape("different sizes, (3, 3) and (2, 2)")
    with pytest.raises(ValueError, match=pinned(tmp_path / DASH_NAMES[2], reason)):
        load_idx_folder(tmp_path)


# Bunch loaders


def check_bunch(bunch, name, n_train, n_test, image_shape, n_classes=10):
    n_features = int(np.prod(image_shape))
    assert isinstance(bunch, Bunch)
    assert bunch.name == name
    assert bunch.image_shape == image_shape
    assert isinstance(bunch.DESCR, str) and bunch.DESCR
    assert len(bunch.target_names) == n_classes
    assert all(isinstance(label, str) for label in bunch.target_names)
    for X, y, n_samples in (
        (bunch.X_train, bunch.y_train, n_train),
        (bunch.X_test, bunch.y_test, n_test),
    ):
        assert X.shape == (n_samples, n_features)
        assert X.dtype == np.float32
        assert X.flags.c_contiguous and X.flags.writeable
        assert 0.0 <= X.min() and X.max() <= 1.0
        assert y.shape == (n_samples,)
        assert y.dtype == np.int64


def test_load_fashion_mnist_from_folder(tmp_path):
    X_train, y_train, X_test, y_test = make_folder(tmp_path, compress=(True,) * 4)

    bunch = load_fashion_mnist(data_dir=tmp_path)

    check_bunch(bunch, "fashion-mnist", 6, 4, (3, 3))
    assert bunch.target_names[0] == "T-shirt/top"
    assert bunch.target_names[9] == "Ankle boot"
    expected = X_train.reshape(6, 9).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(bunch.X_train, expected)
    np.testing.assert_array_equal(bunch.y_test, y_test)


def test_load_fashion_mnist_default_folder_missing(tmp_path, monkeypatch):
    absent = tmp_path / "fashion-mnist"
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", str(absent))

    reason = re.escape(
        "Install Debian's dataset-fashion-mnist package (apt-get install "
        "dataset-fashion-mnist) or pass data_dir (--data-dir on the command "
        "line), a folder"
    )
    with pytest.raises(FileNotFoundError, match=pinned(absent, reason)):
        load_fashion_mnist()


def test_loader_rejects_labels_outside_the_classes(tmp_path):
    make_folder(tmp_path)
    write_idx(tmp_path / DASH_NAMES[1], np.array([0, 1, 2, 10, 4, 5], np.uint8))

    message = "fashion-mnist training labels include 10; expected labels in 0..9"
    with pytest.raises(ValueError, match=message):
        load_fashion_mnist(tmp_path)


def test_load_mnist_from_folder_does_not_download(tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("fetch_openml must not be called")

    monkeypatch.setattr(datasets, "fetch_openml", no_download)
    _, y_train, _, _ = make_folder(tmp_path, DOT_NAMES)

    bunch = load_mnist(data_dir=tmp_path)

    check_bunch(bunch, "mnist", 6, 4, (3, 3))
    assert bunch.target_names == [str(digit) for digit in range(10)]
    np.testing.assert_array_equal(bunch.y_train, y_train)


def fake_openml(n_samples=12):
    data = np.arange(n_samples * 784, dtype=np.float64).reshape(n_samples, 784)
    target = np.array([str(i % 10) for i in range(n_samples)], dtype=object)
    return Bunch(data=data % 256, target=target)


def test_load_mnist_download_takes_the_last_rows_as_test(monkeypatch):
    calls = []

    def fetch(*args, **kwargs):
        calls.append((args, kwargs))
        return fake_openml()

    monkeypatch.setattr(datasets, "fetch_openml", fetch)
    monkeypatch.setattr(datasets, "_MNIST_TEST_SIZE", 4)

    bunch = load_mnist()

    assert len(calls) == 1
    args, kwargs = calls[0]
    assert args == ("mnist_784",)
    assert kwargs["version"] == 1 and kwargs["as_frame"] is False
    check_bunch(bunch, "mnist", 8, 4, (28, 28))
    expected = fake_openml().data.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(bunch.X_train, expected[:8])
    np.testing.assert_array_equal(bunch.X_test, expected[8:])
    assert bunch.y_test.tolist() == [8, 9, 0, 1]


def test_load_mnist_default_split_is_the_standard_one():
    assert datasets._MNIST_TEST_SIZE == 10_000


def test_load_mnist_download_too_small(monkeypatch):
    monkeypatch.setattr(datasets, "fetch_openml", lambda *a, **k: fake_openml(5))
    monkeypatch.setattr(datasets, "_MNIST_TEST_SIZE", 5)

    with pytest.raises(ValueError, match="Cannot hold out the last 5 of 5 samples"):
        load_mnist()


def test_load_mnist_download_wrong_shape(monkeypatch):
    odd = Bunch(data=np.zeros((3, 10)), target=np.array(["1"] * 3, dtype=object))
    monkeypatch.setattr(datasets, "fetch_openml", lambda *a, **k: odd)

    message = re.escape(
        "mnist_784 gave data of shape (3, 10); expected (n_samples, 784)"
    )
    with pytest.raises(ValueError, match=message):
        load_mnist()


@pytest.mark.parametrize(
    "error",
    [URLError("no route to host"), TimeoutError("timed out"), ConnectionResetError()],
    ids=["URLError", "TimeoutError", "ConnectionResetError"],
)
def test_load_mnist_download_failure(monkeypatch, error):
    def fetch(*args, **kwargs):
        raise error

    monkeypatch.setattr(datasets, "fetch_openml", fetch)

    message = (
        r"MNIST could not be downloaded from OpenML .*Pass data_dir "
        r"\(--data-dir on the command line\), a folder holding the four IDX "
        r"files train-images-idx3-ubyte, "
        r"train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
    )
    with pytest.raises(OSError, match=message) as info:
        load_mnist()
    assert info.value.__cause__ is error


def test_load_digits_split():
    bunch = load_digits_split()

    check_bunch(bunch, "digits", 1347, 450, (8, 8))
    assert bunch.X_train.max() == 1.0
    assert bunch.target_names == [str(digit) for digit in range(10)]
    train_share = np.bincount(bunch.y_train) / len(bunch.y_train)
    test_share = np.bincount(bunch.y_test) / len(bunch.y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_load_digits_split_parameters():
    first = load_digits_split(test_size=100, random_state=3)
    again = load_digits_split(test_size=100, random_state=3)
    other = load_digits_split(test_size=100, random_state=4)

    assert first.X_test.shape == (100, 64)
    np.testing.assert_array_equal(first.X_train, again.X_train)
    assert not np.array_equal(first.y_train, other.y_train)


# load_dataset


def test_load_dataset_dispatches(tmp_path):
    make_folder(tmp_path)

    assert load_dataset("digits").name == "digits"
    assert load_dataset("fashion-mnist", data_dir=tmp_path).name == "fashion-mnist"
    assert load_dataset("mnist", data_dir=tmp_path).name == "mnist"


@pytest.mark.parametrize("name", ["cifar10", "MNIST", None])
def test_load_dataset_unknown_name(name):
    message = re.escape(
        f"Unknown data set name={name!r}; expected one of 'digits', "
        "'fashion-mnist', 'mnist'"
    )
    with pytest.raises(ValueError, match=message):
        load_dataset(name)


def test_load_dataset_digits_take_no_data_dir(tmp_path):
    message = re.escape(
        f"data_dir={tmp_path!r} was given with name='digits', but the digits "
        "are bundled with scikit-learn and take no data_dir"
    )
    with pytest.raises(ValueError, match=message):
        load_dataset("digits", data_dir=tmp_path)


def test_public_names():
    assert datasets.__all__ == sorted(datasets.__all__)
    for name in datasets.__all__:
        assert hasattr(datasets, name)


# Real data: the Debian package is a test requirement, so no skip here.


def test_load_fashion_mnist_from_the_debian_package():
    assert FASHION_MNIST_DIR == "/usr/share/datasets/fashion-mnist"

    bunch = load_fashion_mnist()

    check_bunch(bunch, "fashion-mnist", 60000, 10000, (28, 28))
    assert bunch.X_train.max() == 1.0
    assert np.unique(bunch.y_train).tolist() == list(range(10))
    assert np.unique(bunch.y_test).tolist() == list(range(10))
