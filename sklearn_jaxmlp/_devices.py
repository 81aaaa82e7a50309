"""Where the work runs: the device of a fit, and the devices of its mesh.

The estimator's ``device`` and ``data_parallel`` parameters are resolved
here into JAX devices, at the start of each fit and prediction, so that a
parameter value can stay a plain description (None, a string, a number)
that pickles and clones. With several JAX processes, the mesh spans all of
them and each process's rows are gathered into every process.
"""

import pickle

import jax
import numpy as np
import scipy.sparse as sp

MESH_AXIS = "batch"


def resolve_device(device):
    """The ``jax.Device`` that ``device`` names, or None for JAX's default.

    ``device`` is None, a ``jax.Device``, a platform name (``"cpu"``,
    ``"gpu"``, ``"tpu"``: that platform's first device) or a platform name
    with the index of one of this process's devices (``"gpu:1"``).
    """
    if device is None or isinstance(device, jax.Device):
        return device
    platform, _, index = device.partition(":")
    try:
        candidates = jax.local_devices(backend=platform)
    except RuntimeError as error:
        raise ValueError(
            f"device={device!r} names no platform JAX can use in this process "
            f"({error}). Pass None for JAX's default device, or the name of an "
            "available platform."
        ) from None
    if not index:
        return candidates[0]
    if not index.isdigit() or int(index) >= len(candidates):
        raise ValueError(
            f"device={device!r} asks for {platform} device {index!r}; this "
            f"process has {len(candidates)} {platform} device(s), numbered 0 to "
            f"{len(candidates) - 1}."
        )
    return candidates[int(index)]


def portable_name(device):
    """A string that :func:`resolve_device` turns back into ``device``."""
    index = jax.local_devices(backend=device.platform).index(device)
    return f"{device.platform}:{index}"


def training_devices(device, data_parallel):
    """The devices one fit trains on, the device named by ``device`` first.

    One device (or None, for JAX's default) unless ``data_parallel`` asks
    for more: True takes every device of the platform, an int that many.
    With several JAX processes (``jax.distributed``), the devices of every
    process take part, in JAX's order, and ``data_parallel`` must ask for
    them all.
    """
    first = resolve_device(device)
    if isinstance(data_parallel, bool):
        wanted = None if data_parallel else 1
    else:
        wanted = int(data_parallel)
    if wanted == 1:
        return [first]

    platform = first.platform if first is not None else jax.default_backend()
    available = jax.devices(platform)
    if jax.process_count() > 1:
        return _devices_of_every_process(device, data_parallel, available)
    if first is not None:
        available = [first] + [d for d in available if d != first]
    if wanted is None:
        wanted = len(available)
    if wanted == 1:
        # True with a single device: the single-device programs, unchanged
        return [first]
    if wanted > len(available):
        raise ValueError(
            f"data_parallel={data_parallel!r} asks for {wanted} devices; there "
            f"are {len(available)} {platform} device(s): {available}. Pass True "
            "to use them all. (On a CPU, the environment variable "
            "JAX_NUM_CPU_DEVICES, set before JAX starts, splits it into "
            "several devices.)"
        )
    return available[:wanted]


def data_mesh(devices):
    """A one-axis mesh over ``devices``, or None for a single device."""
    if len(devices) < 2:
        return None
    return jax.make_mesh(
        (len(devices),),
        (MESH_AXIS,),
        axis_types=(jax.sharding.AxisType.Explicit,),
        devices=devices,
    )


def _devices_of_every_process(device, data_parallel, available):
    """Every process's devices, for one fit spread over the processes."""
    if not (device is None or (isinstance(device, str) and ":" not in device)):
        raise ValueError(
            f"device={device!r} names one device of this process; with "
            f"{jax.process_count()} JAX processes training together, every "
            "process must name the same devices: pass None or a platform name "
            "such as 'gpu'."
        )
    if data_parallel is not True and data_parallel != len(available):
        raise ValueError(
            f"data_parallel={data_parallel!r}: with {jax.process_count()} JAX "
            f"processes, a fit runs on the devices of all of them, "
            f"{len(available)} here. Pass True (or False, for one model per "
            "process)."
        )
    return available


def home_device(devices):
    """The first of ``devices`` that this process can use (None: the default)."""
    for device in devices:
        if device is None or device.process_index == jax.process_index():
            return device
    return None


def spans_processes(mesh):
    """Whether ``mesh`` holds devices of other processes than this one."""
    return mesh is not None and any(
        d.process_index != jax.process_index() for d in mesh.devices.flat
    )


def _allgather_objects(value):
    """``value`` of every process, in process order, as a list."""
    from jax.experimental import multihost_utils

    payload = np.frombuffer(pickle.dumps(value), np.uint8)
    sizes = multihost_utils.process_allgather(np.array([payload.size], np.int32))
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[: payload.size] = payload
    gathered = multihost_utils.process_allgather(padded)
    return [
        pickle.loads(gathered[p, : int(sizes[p, 0])].tobytes())
        for p in range(jax.process_count())
    ]


def gather_rows(*arrays):
    """Every process's rows of each array, concatenated in process order.

    Each process then holds the whole training set, as one process given
    all the rows would. ``None`` stays None only if it is None everywhere.
    """
    # Not yet done: keeping each process's rows on its own devices, for data
    # larger than one host (the batches would then differ from one
    # process's fit on all the rows).
    parts = _allgather_objects(arrays)
    gathered = []
    for pieces in zip(*parts, strict=True):
        if all(piece is None for piece in pieces):
            gathered.append(None)
        elif any(piece is None for piece in pieces):
            raise ValueError(
                "Some JAX processes passed sample weights (or a validation set) "
                "and others did not; every process must pass the same kinds "
                "of arguments to fit."
            )
        elif sp.issparse(pieces[0]):
            gathered.append(sp.vstack(pieces, format="csr"))
        else:
            gathered.append(np.concatenate(pieces))
    return gathered


def agreed_seed(seed):
    """Process 0's ``seed``, so that every process draws the same numbers."""
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(np.uint32(seed)))
