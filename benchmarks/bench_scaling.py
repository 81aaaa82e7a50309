"""Seconds per epoch of one fit on one device, on two, and on two processes.

Each mode runs in fresh processes: one process with one CPU device; one
process with two CPU devices forced by ``JAX_NUM_CPU_DEVICES=2`` and
``data_parallel=True``; two processes of one CPU device each, meeting on
127.0.0.1, each fitting on half of the rows with ``data_parallel=True``.
The data are scikit-learn's digits (1797 rows, scaled to [0, 1]) tiled
``--tile`` times; the network is (64,), adam, batches of 200, ``tol=0``.
Seconds per epoch are the difference between a long and a short fit,
divided by the difference in epochs (compilation excluded), the median of
``--repeat`` such differences.

Usage::

    python benchmarks/bench_scaling.py [--tile 10] [--repeat 3]

On a machine with few cores the forced devices and the second process
share those cores: expect them to be slower than one device there. The
modes exist for machines with several accelerators or hosts.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import warnings

SHORT, LONG = 2, 12


def fit_seconds(X, y, max_iter, data_parallel):
    from sklearn_jaxmlp import JaxMLPClassifier

    clf = JaxMLPClassifier(
        hidden_layer_sizes=(64,),
        max_iter=max_iter,
        tol=0,
        random_state=0,
        data_parallel=data_parallel,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start


def worker(tile, repeat, data_parallel, process_id=None, port=None):
    """Seconds per epoch in this process; prints a JSON line."""
    import jax

    if process_id is not None:
        jax.distributed.initialize(
            coordinator_address=f"127.0.0.1:{port}",
            num_processes=2,
            process_id=process_id,
        )
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = np.tile(X / 16, (tile, 1)), np.tile(y, tile)
    if process_id is not None:
        half = len(y) // 2
        own = slice(0, half) if process_id == 0 else slice(half, len(y))
        X, y = X[own], y[own]
    warnings.simplefilter("ignore")
    fit_seconds(X, y, SHORT, data_parallel)  # compiles
    per_epoch = []
    for _ in range(repeat):
        short = fit_seconds(X, y, SHORT, data_parallel)
        long = fit_seconds(X, y, LONG, data_parallel)
        per_epoch.append((long - short) / (LONG - SHORT))
    print(json.dumps({"s_per_epoch": statistics.median(per_epoch)}), flush=True)
    if process_id is not None:
        jax.distributed.shutdown()


def run(args, env_extra, extra_argv=()):
    env = {**os.environ, **env_extra}
    command = [sys.executable, __file__, "--worker", *map(str, extra_argv)]
    command += ["--tile", str(args.tile), "--repeat", str(args.repeat)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def result(process):
    out, _ = process.communicate(timeout=1200)
    if process.returncode != 0:
        raise RuntimeError(f"a worker failed with status {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])["s_per_epoch"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="one", help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        data_parallel = args.mode != "one"
        worker(args.tile, args.repeat, data_parallel, args.process_id, args.port)
        return

    one_device = {"JAX_NUM_CPU_DEVICES": "1"}
    rows = {}
    rows["one device"] = result(run(args, one_device, ["--mode", "one"]))
    rows["two CPU devices, data_parallel"] = result(
        run(args, {"JAX_NUM_CPU_DEVICES": "2"}, ["--mode", "two-devices"])
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    processes = [
        run(
            args,
            one_device,
            ["--mode", "two-processes", "--process-id", i, "--port", port],
        )
        for i in (0, 1)
    ]
    rows["two processes on 127.0.0.1"] = max(result(p) for p in processes)

    n_rows = 1797 * args.tile
    print(
        f"digits x{args.tile} ({n_rows} rows), (64,), adam, batch 200, "
        f"median of {args.repeat}:\n"
    )
    print("| mode | s/epoch | rows/s |")
    print("|---|---|---|")
    for mode, seconds in rows.items():
        print(f"| {mode} | {seconds:.4f} | {n_rows / seconds:,.0f} |")


if __name__ == "__main__":
    main()
