"""Image-classification data sets for trying out and benchmarking the MLP.

The loaders return a :class:`sklearn.utils.Bunch` of flat, C-contiguous
``float32`` pixel matrices scaled to [0, 1], ``int64`` labels, the class
names and the image shape. Fashion-MNIST is read from the folder where
Debian's ``dataset-fashion-mnist`` package installs it, MNIST from a folder
of IDX files or from OpenML, and the small 8x8 digits from scikit-learn.
The IDX reader underneath, :func:`read_idx`, is public too.
"""

import errno
import gzip
import math
import os
import stat
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import fetch_openml, load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

__all__ = [
    "FASHION_MNIST_DIR",
    "load_dataset",
    "load_digits_split",
    "load_fashion_mnist",
    "load_idx_folder",
    "load_mnist",
    "read_idx",
]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

# IDX type code -> (big-endian dtype, name shown in messages)
_IDX_TYPES = {
    0x08: (np.dtype(">u1"), "uint8"),
    0x09: (np.dtype(">i1"), "int8"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 1 << 22

# More dimensions than any image or label file needs, and within what
# NumPy 1 (32) and NumPy 2 (64) allow for an array
_MAX_DIMS = 32
# The most bytes NumPy can address in one array, zero-sized axes aside
_MAX_BYTES = int(np.iinfo(np.intp).max)

# The four files of an MNIST-style folder, in the order load_idx_folder
# returns their arrays.
_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

_MNIST_OPENML_NAME = "mnist_784"
_MNIST_TEST_SIZE = 10_000

_DIGIT_NAMES = [str(digit) for digit in range(10)]
_FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

_DESCR = {
    "fashion-mnist": (
        "Zalando's Fashion-MNIST: 28x28 grey-scale photos of clothing in ten "
        "classes, 60,000 for training and 10,000 for testing. Pixels are "
        "divided by 255."
    ),
    "mnist": (
        "MNIST handwritten digits: 28x28 grey-scale images of the digits 0-9, "
        "with the usual split of 60,000 training and 10,000 test images. "
        "Pixels are divided by 255."
    ),
    "digits": (
        "scikit-learn's bundled 8x8 handwritten digits (1,797 images), split "
        "into stratified train and test parts. Pixels are divided by 16."
    ),
}


def _known_types():
    """Describe the supported IDX type codes for error messages."""
    return ", ".join(f"0x{code:02X} ({name})" for code, (_, name) in _IDX_TYPES.items())


# What to do about an operating-system error, by errno
_OS_HINTS = {
    errno.EACCES: "check the read and search permissions along this path",
    errno.EPERM: "check the read and search permissions along this path",
    errno.ELOOP: "its symbolic links form a loop; point them at a real file",
}


def _reworded(exc, message):
    """An error of the type and errno of OSError ``exc``, saying ``message``."""
    error = type(exc)(message)
    error.errno = exc.errno
    return error


def _os_reason(exc):
    """The system's reason for OSError ``exc`` and, where known, what to do."""
    reason = exc.strerror or str(exc)
    hint = _OS_HINTS.get(exc.errno)
    return f"{reason}; {hint}" if hint else reason


def _stat_mode(path, what):
    """Return the mode of ``path``, or raise an error naming it and the reason.

    A path that is missing, or a symbolic link to nothing, raises
    FileNotFoundError; any other failure raises the OSError subclass the
    system gave, with a message naming ``what`` and ``path``.
    """
    try:
        return os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        raise _reworded(
            exc, f"{what} '{path}' cannot be opened: {_os_reason(exc)}"
        ) from exc

    try:
        target = os.readlink(path)
    except OSError:
        raise FileNotFoundError(f"{what} '{path}' does not exist") from None
    raise FileNotFoundError(
        f"{what} '{path}' is a symbolic link to '{target}', which does not exist"
    )


def _check_regular_file(path):
    """Raise an error naming ``path`` unless it is a regular file."""
    if not stat.S_ISREG(_stat_mode(path, "IDX file")):
        raise ValueError(f"IDX file '{path}' is not a regular file")


def _read_at_most(stream, n_bytes):
    """Read up to ``n_bytes`` from ``stream`` in chunks, stopping at EOF."""
    buffer = bytearray()
    while len(buffer) < n_bytes:
        chunk = stream.read(min(n_bytes - len(buffer), _READ_CHUNK))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _parse_idx(stream, path):
    """Read the header and data of an open IDX stream into a native array."""
    where = f"IDX file '{path}'"

    # Magic number
    magic = stream.read(4)
    head = magic[:2]
    if head != bytes(len(head)):
        raise ValueError(
            f"{where} is not an IDX file: it starts with the bytes "
            f"{magic.hex(' ')}, expected 00 00 followed by a type code "
            "and a dimension count"
        )
    if len(magic) < 4:
        raise ValueError(
            f"{where} has a truncated header: expected a 4-byte magic "
            f"number, found {len(magic)} bytes"
        )
    type_code, n_dims = magic[2], magic[3]
    if type_code not in _IDX_TYPES:
        raise ValueError(
            f"{where} has the unknown type code 0x{type_code:02X}; expected "
            f"one of {_known_types()}"
        )
    if not 1 <= n_dims <= _MAX_DIMS:
        raise ValueError(
            f"{where} declares {n_dims} dimensions; expected 1 to {_MAX_DIMS}"
        )

    # Dimension sizes
    dims = stream.read(4 * n_dims)
    if len(dims) < 4 * n_dims:
        raise ValueError(
            f"{where} has a truncated header: {n_dims} dimensions need "
            f"{4 * n_dims} bytes of sizes after the magic number, found "
            f"{len(dims)}"
        )
    shape = tuple(
        int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4)
    )
    dtype, type_name = _IDX_TYPES[type_code]
    n_bytes = dtype.itemsize * math.prod(shape)

    # NumPy refuses a shape whose nonzero sizes multiply past its address
    # space, even when another size is 0: check before reading anything
    n_addressed = dtype.itemsize * math.prod(max(size, 1) for size in shape)
    if n_addressed > _MAX_BYTES:
        raise ValueError(
            f"{where} declares shape {shape} of {type_name}, too large for "
            f"an array: its nonzero sizes make {n_addressed} bytes, more "
            f"than the {_MAX_BYTES} that NumPy can address; the header is "
            "probably corrupt"
        )

    # Data, plus one byte to detect trailing garbage
    buffer = _read_at_most(stream, n_bytes + 1)
    if len(buffer) < n_bytes:
        raise ValueError(
            f"{where} is truncated: expected {n_bytes} bytes of data after "
            f"the header (shape {shape}, {type_name}), found {len(buffer)}"
        )
    if len(buffer) > n_bytes:
        raise ValueError(
            f"{where} has trailing bytes: the header declares shape {shape} "
            f"of {type_name}, which is {n_bytes} bytes of data, but more "
            "bytes follow them"
        )

    data = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    if not data.dtype.isnative:
        data = data.byteswap(inplace=True).view(data.dtype.newbyteorder())
    return data


def read_idx(path):
    """Read one file in the IDX format used by MNIST and Fashion-MNIST.

    The file may be raw or gzip-compressed; compression is recognised by
    the gzip magic bytes, whatever the file is called.

    Parameters
    ----------
    path : str or os.PathLike
        The IDX file to read.

    Returns
    -------
    data : ndarray
        A writeable array in native byte order with the shape and element
        type declared by the header: uint8, int8, int16, int32, float32 or
        float64.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or is a symbolic link to nothing.
    PermissionError
        If the file, or a folder on its path, may not be read.
    OSError
        If the file cannot be opened or read for another reason, such as a
        loop of symbolic links or an input/output error.
    ValueError
        If the path is not a regular file, the file is not an IDX file, its
        type code is unknown, it declares more than 32 dimensions or more
        data than an array can hold, its header or data is truncated, bytes
        follow the declared data, or its gzip stream is truncated or
        corrupt.

    All of them have a message naming the file.

    See Also
    --------
    load_idx_folder : Read the four files of an MNIST-style folder.

    Notes
    -----
    At most one byte beyond the size declared by the header is read, so
    memory use is bounded by the declared size even for a file that is
    far longer than its header says.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn_jaxmlp.datasets import read_idx
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "labels-idx1-ubyte")
    ...     _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 4]))
    ...     read_idx(path)
    array([7, 1, 4], dtype=uint8)
    """
    path = Path(path)
    _check_regular_file(path)

    try:
        with open(path, "rb") as raw:
            if raw.read(2) != _GZIP_MAGIC:
                raw.seek(0)
                return _parse_idx(raw, path)

            raw.seek(0)
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _parse_idx(stream, path)
            except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                raise ValueError(
                    f"IDX file '{path}' is gzip-compressed, but its gzip "
                    f"stream is truncated or corrupt: {exc}"
                ) from exc
    except OSError as exc:
        raise _reworded(
            exc, f"IDX file '{path}' cannot be read: {_os_reason(exc)}"
        ) from exc


def _candidate_names(name):
    """List the file names accepted for one of the four standard files."""
    dotted = name.replace("-idx", ".idx")
    return [name, f"{name}.gz", dotted, f"{dotted}.gz"]


def _find_file(folder, name):
    """Return the path under which ``folder`` holds ``name``, or None.

    A candidate that is there but unusable (a folder, a broken or looping
    symbolic link) is reported with its reason when no other spelling of
    the name is a regular file.
    """
    unusable = None
    for candidate in _candidate_names(name):
        path = folder / candidate
        try:
            mode = os.stat(path).st_mode
        except PermissionError as exc:
            # Looking up a name needs search permission on the folder
            raise _reworded(
                exc,
                f"IDX folder '{folder}' cannot be searched: {exc.strerror}; "
                "it needs search (execute) permission for this user",
            ) from exc
        except OSError:
            if unusable is None and os.path.lexists(path):
                unusable = path
            continue
        if stat.S_ISREG(mode):
            return path
        if unusable is None:
            unusable = path

    if unusable is not None:
        _check_regular_file(unusable)
    return None


def _check_pair(images, labels, images_path, labels_path):
    """Check that an image file and its label file belong together."""
    if images.ndim != 3:
        raise ValueError(
            f"IDX file '{images_path}' holds an array of shape "
            f"{images.shape}; expected 3-d images (n_images, rows, cols)"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"IDX file '{labels_path}' holds an array of shape "
            f"{labels.shape}; expected 1-d labels (n_labels,)"
        )
    for array, array_path in ((images, images_path), (labels, labels_path)):
        if array.dtype != np.uint8:
            raise ValueError(
                f"IDX file '{array_path}' holds {array.dtype} values; "
                "expected uint8 (type code 0x08)"
            )
    if len(images) != len(labels):
        raise ValueError(
            f"IDX file '{images_path}' holds {len(images)} images but "
            f"'{labels_path}' holds {len(labels)} labels; expected one "
            "label per image"
        )
    if len(images) == 0:
        raise ValueError(
            f"IDX file '{images_path}' holds 0 images; a data set needs at least one"
        )
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(
            f"IDX file '{images_path}' holds images of {images.shape[1]}x"
            f"{images.shape[2]} pixels; expected at least one pixel"
        )


def load_idx_folder(folder):
    """Read the four IDX files of an MNIST-style folder.

    The folder must hold ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte``. Each may also be spelled with a dot before
    ``idx`` (``train-images.idx3-ubyte``) and may end in ``.gz``.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder holding the four files.

    Returns
    -------
    X_train : ndarray of shape (n_train, rows, cols), dtype uint8
        Training images as stored.
    y_train : ndarray of shape (n_train,), dtype uint8
        Training labels as stored.
    X_test : ndarray of shape (n_test, rows, cols), dtype uint8
        Test images as stored.
    y_test : ndarray of shape (n_test,), dtype uint8
        Test labels as stored.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist or is not a folder, or some of the four
        files are not in it; the message lists the missing files and the
        names tried.
    PermissionError
        If the folder may not be searched, or a file may not be read.
    OSError
        If the folder or a file cannot be opened for another reason, such
        as a loop of symbolic links (see :func:`read_idx`).
    ValueError
        If a file is not a valid IDX file (see :func:`read_idx`), images
        are not 3-d uint8 or have no pixels, labels are not 1-d uint8,
        image and label counts differ, the training or the test part holds
        no images, or training and test images differ in size.

    All of them have a message naming the folder or the file.

    See Also
    --------
    read_idx : Read a single IDX file.
    load_fashion_mnist : Load Fashion-MNIST as flat, scaled arrays.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn_jaxmlp.datasets import load_idx_folder
    >>> def header(*sizes):
    ...     dims = b"".join(size.to_bytes(4, "big") for size in sizes)
    ...     return bytes([0, 0, 8, len(sizes)]) + dims
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for part in ("train", "t10k"):
    ...         images = Path(tmp, f"{part}-images-idx3-ubyte")
    ...         labels = Path(tmp, f"{part}-labels-idx1-ubyte")
    ...         _ = images.write_bytes(header(2, 1, 2) + bytes([0, 9, 99, 255]))
    ...         _ = labels.write_bytes(header(2) + bytes([3, 5]))
    ...     X_train, y_train, X_test, y_test = load_idx_folder(tmp)
    >>> X_train.shape, y_train.tolist()
    ((2, 1, 2), [3, 5])
    """
    folder = Path(folder)
    if not stat.S_ISDIR(_stat_mode(folder, "IDX folder")):
        raise FileNotFoundError(f"IDX folder '{folder}' is not a folder")

    # Find the four files
    paths = {name: _find_file(folder, name) for name in _IDX_FILES}
    missing = [name for name in _IDX_FILES if paths[name] is None]
    if missing:
        tried = "; ".join(
            f"{name} as {', '.join(_candidate_names(name))}" for name in missing
        )
        raise FileNotFoundError(
            f"IDX folder '{folder}' is missing {len(missing)} of the 4 "
            f"files: {', '.join(missing)} (looked for {tried})"
        )

    # Read and cross-check them
    arrays = [read_idx(paths[name]) for name in _IDX_FILES]
    X_train, y_train, X_test, y_test = arrays
    _check_pair(X_train, y_train, paths[_IDX_FILES[0]], paths[_IDX_FILES[1]])
    _check_pair(X_test, y_test, paths[_IDX_FILES[2]], paths[_IDX_FILES[3]])
    if X_train.shape[1:] != X_test.shape[1:]:
        raise ValueError(
            f"IDX files '{paths[_IDX_FILES[0]]}' and '{paths[_IDX_FILES[2]]}' "
            f"hold images of different sizes, {X_train.shape[1:]} and "
            f"{X_test.shape[1:]}; expected training and test images of one "
            "size"
        )
    return X_train, y_train, X_test, y_test


def _as_features(images, scale):
    """Flatten images to a C-contiguous float32 matrix divided by ``scale``."""
    n_samples = images.shape[0]
    n_features = int(np.prod(images.shape[1:], dtype=np.int64))
    features = np.array(images, dtype=np.float32, order="C")
    features = features.reshape(n_samples, n_features)
    features /= np.float32(scale)
    return features


def _make_bunch(name, X_train, y_train, X_test, y_test, image_shape, scale):
    """Assemble the Bunch returned by every loader."""
    target_names = _FASHION_NAMES if name == "fashion-mnist" else _DIGIT_NAMES
    y_train = np.array(y_train, dtype=np.int64)
    y_test = np.array(y_test, dtype=np.int64)
    for part, labels in (("training", y_train), ("test", y_test)):
        outside = labels[(labels < 0) | (labels >= len(target_names))]
        if outside.size:
            raise ValueError(
                f"{name} {part} labels include {outside[0]}; expected labels "
                f"in 0..{len(target_names) - 1}"
            )

    return Bunch(
        X_train=_as_features(X_train, scale),
        y_train=y_train,
        X_test=_as_features(X_test, scale),
        y_test=y_test,
        target_names=list(target_names),
        image_shape=tuple(int(size) for size in image_shape),
        name=name,
        DESCR=_DESCR[name],
    )


def load_fashion_mnist(data_dir=None):
    """Load Fashion-MNIST as flat float32 arrays scaled to [0, 1].

    Parameters
    ----------
    data_dir : str or os.PathLike, default=None
        Folder holding the four IDX files (see :func:`load_idx_folder`).
        If None, :data:`FASHION_MNIST_DIR`, where Debian's
        ``dataset-fashion-mnist`` package installs them.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (60000, 784), dtype float32
            Training images, one flattened image a row, in [0, 1].
        y_train : ndarray of shape (60000,), dtype int64
            Training labels 0..9.
        X_test : ndarray of shape (10000, 784), dtype float32
            Test images.
        y_test : ndarray of shape (10000,), dtype int64
            Test labels.
        target_names : list of str
            The ten class names, indexed by label.
        image_shape : tuple of int
            ``(28, 28)``.
        name : str
            ``"fashion-mnist"``.
        DESCR : str
            A short description of the data set.

    Raises
    ------
    FileNotFoundError
        If the folder or one of its four files is missing; for the default
        folder the message says how to install the Debian package.
    PermissionError
        If the folder may not be searched, or a file may not be read.
    OSError
        If the folder or a file cannot be opened for another reason.
    ValueError
        If a file is not valid or the files do not fit together (see
        :func:`load_idx_folder`), or a label is not in 0..9.

    See Also
    --------
    load_dataset : Load any of the data sets by name.

    Examples
    --------
    >>> from sklearn_jaxmlp.datasets import load_fashion_mnist
    >>> fashion = load_fashion_mnist()
    >>> fashion.X_train.shape, fashion.X_train.dtype
    ((60000, 784), dtype('float32'))
    >>> fashion.target_names[fashion.y_train[0]]
    'Ankle boot'
    """
    if data_dir is None:
        # Anything there that is not a folder is reported by load_idx_folder
        if not os.path.lexists(FASHION_MNIST_DIR):
            raise FileNotFoundError(
                f"Fashion-MNIST was not found in its default folder "
                f"'{FASHION_MNIST_DIR}'. Install Debian's dataset-fashion-mnist "
                "package (apt-get install dataset-fashion-mnist) or pass "
                "data_dir (--data-dir on the command line), a folder holding "
                "the four IDX files."
            )
        data_dir = FASHION_MNIST_DIR

    X_train, y_train, X_test, y_test = load_idx_folder(data_dir)
    return _make_bunch(
        "fashion-mnist", X_train, y_train, X_test, y_test, X_train.shape[1:], 255
    )


def _split_last(X, y, n_test):
    """Split off the last ``n_test`` rows as the test part."""
    if not 0 < n_test < len(X):
        raise ValueError(
            f"Cannot hold out the last {n_test} of {len(X)} samples as the "
            "test part; expected more samples than that"
        )
    return X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:]


def load_mnist(data_dir=None):
    """Load MNIST as flat float32 arrays scaled to [0, 1].

    Parameters
    ----------
    data_dir : str or os.PathLike, default=None
        Folder holding the four IDX files (see :func:`load_idx_folder`).
        If None, MNIST is fetched from OpenML (``mnist_784``, version 1) or
        scikit-learn's download cache, and its first 60,000 images are used
        for training and the last 10,000 for testing, the standard split.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes ``X_train``, ``y_train``,
        ``X_test``, ``y_test``, ``target_names`` (``"0"`` to ``"9"``),
        ``image_shape`` (``(28, 28)``), ``name`` (``"mnist"``) and
        ``DESCR``, laid out as in :func:`load_fashion_mnist`.

    Raises
    ------
    FileNotFoundError
        If ``data_dir`` or one of its four files is missing.
    OSError
        If ``data_dir`` is None and MNIST cannot be downloaded, or a file
        of ``data_dir`` cannot be opened (a PermissionError when it may
        not be read; see :func:`load_idx_folder`).
    ValueError
        If a file of ``data_dir`` is not valid or the files do not fit
        together (see :func:`load_idx_folder`), or a label is not in 0..9.

    See Also
    --------
    load_fashion_mnist : The same layout for Fashion-MNIST.

    Examples
    --------
    The download needs network access the first time:

    >>> from sklearn_jaxmlp.datasets import load_mnist
    >>> mnist = load_mnist()  # doctest: +SKIP
    >>> mnist.X_train.shape, mnist.X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    """
    if data_dir is not None:
        X_train, y_train, X_test, y_test = load_idx_folder(data_dir)
        return _make_bunch(
            "mnist", X_train, y_train, X_test, y_test, X_train.shape[1:], 255
        )

    try:
        openml = fetch_openml(
            _MNIST_OPENML_NAME, version=1, as_frame=False, parser="liac-arff"
        )
    except OSError as exc:
        names = ", ".join(_IDX_FILES)
        raise OSError(
            f"MNIST could not be downloaded from OpenML ({exc}). Pass "
            "data_dir (--data-dir on the command line), a folder holding "
            f"the four IDX files {names} (optionally gzip-compressed)."
        ) from exc

    images = np.asarray(openml.data)
    if images.ndim != 2 or images.shape[1] != 28 * 28:
        raise ValueError(
            f"OpenML's {_MNIST_OPENML_NAME} gave data of shape {images.shape}; "
            "expected (n_samples, 784)"
        )
    labels = np.asarray(openml.target).astype(np.int64)
    X_train, y_train, X_test, y_test = _split_last(images, labels, _MNIST_TEST_SIZE)
    return _make_bunch("mnist", X_train, y_train, X_test, y_test, (28, 28), 255)


def load_digits_split(test_size=0.25, random_state=0):
    """Load scikit-learn's 8x8 digits, split into stratified train and test.

    Parameters
    ----------
    test_size : float or int, default=0.25
        Fraction (float) or number (int) of the 1,797 images held out for
        testing, as in :func:`sklearn.model_selection.train_test_split`.
    random_state : int, RandomState instance or None, default=0
        Controls the shuffling before the split.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes ``X_train``, ``y_train``,
        ``X_test``, ``y_test``, ``target_names`` (``"0"`` to ``"9"``),
        ``image_shape`` (``(8, 8)``), ``name`` (``"digits"``) and
        ``DESCR``, laid out as in :func:`load_fashion_mnist`; pixels are
        divided by 16.

    See Also
    --------
    sklearn.datasets.load_digits : The data set itself.

    Examples
    --------
    >>> from sklearn_jaxmlp.datasets import load_digits_split
    >>> digits = load_digits_split()
    >>> digits.X_train.shape, digits.X_test.shape
    ((1347, 64), (450, 64))
    >>> float(digits.X_train.max())
    1.0
    """
    images, labels = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        images,
        labels,
        test_size=test_size,
        random_state=random_state,
        stratify=labels,
    )
    return _make_bunch("digits", X_train, y_train, X_test, y_test, (8, 8), 16)


_LOADERS = {
    "digits": load_digits_split,
    "fashion-mnist": load_fashion_mnist,
    "mnist": load_mnist,
}


def load_dataset(name, data_dir=None):
    """Load one of the data sets of this module by name.

    Parameters
    ----------
    name : {"digits", "fashion-mnist", "mnist"}
        Which data set: :func:`load_digits_split` (with its defaults),
        :func:`load_fashion_mnist` or :func:`load_mnist`.
    data_dir : str or os.PathLike, default=None
        Folder of IDX files, passed on to the Fashion-MNIST and MNIST
        loaders. The digits are bundled with scikit-learn and take none.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As returned by the loader named.

    Raises
    ------
    ValueError
        If ``name`` is unknown, or ``data_dir`` is given with ``"digits"``.

    Examples
    --------
    >>> from sklearn_jaxmlp.datasets import load_dataset
    >>> digits = load_dataset("digits")
    >>> digits.name, digits.image_shape, digits.target_names[:3]
    ('digits', (8, 8), ['0', '1', '2'])
    """
    if not isinstance(name, str) or name not in _LOADERS:
        valid = ", ".join(repr(known) for known in _LOADERS)
        raise ValueError(f"Unknown data set name={name!r}; expected one of {valid}")
    if name == "digits":
        if data_dir is not None:
            raise ValueError(
                f"data_dir={data_dir!r} was given with name='digits', "
                "but the digits are bundled with scikit-learn and take no "
                "data_dir; pass data_dir=None"
            )
        return load_digits_split()
    return _LOADERS[name](data_dir=data_dir)
