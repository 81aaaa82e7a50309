"""Where the work runs: the device of a fit, and the devices of its mesh.

The estimator's ``device`` and ``data_parallel`` parameters are resolved
here into JAX devices, at the start of each fit and prediction, so that a
parameter value stays a plain description (None, a string, a number) that
pickles and clones.
"""

import jax

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
    process take part.
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
