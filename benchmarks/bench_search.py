"""Wall time of one GridSearchCV of JaxMLPClassifier under joblib's backends.

The search: JaxMLPClassifier on scikit-learn's digits (pixels divided by
16), ``max_iter`` epochs of adam, ``random_state=0``, four candidates
(``hidden_layer_sizes`` in (32,) and (64,), ``alpha`` in 1e-4 and 1e-2),
3-fold cross-validation, then the refit: 13 fits. The backends:

n_jobs=1
    Everything in one process.
threading
    ``joblib.parallel_config(backend="threading", n_jobs=2)``: two threads
    of one process share its compiled programs (JAX releases the GIL while
    it computes).
loky
    ``n_jobs=2`` with joblib's default backend: two fresh worker
    processes, each importing JAX and compiling for itself.
dask
    ``joblib.parallel_config(backend="dask")`` on a ``LocalCluster`` of two
    spawned worker processes of one thread each, listening on 127.0.0.1
    only, without a dashboard. Starting the cluster is timed apart from the
    search.
multiprocessing
    ``backend="multiprocessing", n_jobs=2``: a pool of processes forked
    from the one that runs the search, after JAX has started there. JAX runs
    threads of its own, and a fork copies none of them, so the children may
    wait forever on a lock a vanished thread held. This run gets
    ``--fork-timeout`` seconds; past that it is killed and reported as hung.

Every run happens in a fresh Python process that first starts JAX's
backend (as any earlier fit would), so no run inherits compiled programs
from another; each repeat is such a fresh run, and the table gives the
median. A run's scores are compared with those of the n_jobs=1 run:
``cv_results_`` without its timing columns, bit for bit.

Usage::

    python benchmarks/bench_search.py [--repeat 2] [--max-iter 30]
        [--only n_jobs=1 threading ...] [--fork-timeout 120] [--json out.json]

The dask run needs ``pip install ".[dask]"``.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import warnings

import _machine  # benchmarks/_machine.py, next to this script

BACKENDS = ("n_jobs=1", "threading", "loky", "dask", "multiprocessing")
RESULT_PREFIX = "RESULT "
LOOPBACK = "127.0.0.1"
GRID = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
CV = 3
N_CANDIDATES = len(GRID["hidden_layer_sizes"]) * len(GRID["alpha"])


def _version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info():
    """Date, machine, CPU count, load and library versions."""
    import sklearn_jaxmlp

    return {
        **_machine.describe(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": platform.python_version(),
        "sklearn_jaxmlp": os.path.dirname(sklearn_jaxmlp.__file__),
        **{
            name: _version(name)
            for name in ("jax", "scikit-learn", "joblib", "dask", "distributed")
        },
    }


# Runs, each in a fresh process


def _search(max_iter):
    """A fitted GridSearchCV, under whatever joblib configuration is active."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from sklearn_jaxmlp import JaxMLPClassifier

    X, y = load_digits(return_X_y=True)
    estimator = JaxMLPClassifier(max_iter=max_iter, random_state=0)
    grid = {name: list(values) for name, values in GRID.items()}
    return GridSearchCV(estimator, grid, cv=CV).fit(X / 16, y)


def _scores(search):
    """The search's cv_results_ without timings, as JSON-friendly lists."""
    results = search.cv_results_
    return {
        name: [repr(value) for value in results[name]]
        for name in sorted(results)
        if "time" not in name
    }


def run_backend(backend, max_iter):
    """Time one search under ``backend`` in this process; return a dict."""
    import jax
    import joblib

    jax.devices()  # start JAX's backend, as an earlier fit would have
    result = {"backend": backend}

    if backend == "dask":
        from dask.distributed import Client, LocalCluster

        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host=LOOPBACK,
                dashboard_address=None,
                worker_dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.wait_for_workers(2)
            result["cluster_seconds"] = time.perf_counter() - start
            start = time.perf_counter()
            with joblib.parallel_config(backend="dask"):
                search = _search(max_iter)
            result["seconds"] = time.perf_counter() - start
    else:
        if backend == "n_jobs=1":
            config = {"n_jobs": 1}
        else:
            config = {"backend": backend, "n_jobs": 2}
        if backend == "multiprocessing":
            import multiprocessing

            result["start_method"] = multiprocessing.get_start_method()
        start = time.perf_counter()
        with joblib.parallel_config(**config):
            search = _search(max_iter)
        result["seconds"] = time.perf_counter() - start

    result["best_params"] = repr(search.best_params_)
    result["best_score"] = float(search.best_score_)
    result["scores"] = _scores(search)
    return result


def _cpu_seconds_in(pid, seconds):
    """CPU seconds a process and its children use in the next ``seconds``.

    Near zero for a run that waits on a lock, not for one that is slow."""
    import psutil

    def total():
        parent = psutil.Process(pid)
        used = 0.0
        for process in [parent, *parent.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            used += times.user + times.system
        return used

    before = total()
    time.sleep(seconds)
    return round(total() - before, 3)


def run_fresh(backend, max_iter, timeout):
    """Run one backend in a fresh process; kill its process group on timeout."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--run",
        backend,
        "--max-iter",
        str(max_iter),
    ]
    # A session of its own, so a timeout can end the forked children too
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    start = time.perf_counter()
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        busy = _cpu_seconds_in(child.pid, 5.0)
        os.killpg(child.pid, signal.SIGKILL)
        stdout, stderr = child.communicate()
        return {
            "backend": backend,
            "hung": True,
            "timeout": timeout,
            "cpu_seconds_in_last_5s": busy,
            "fork_warning": "fork" in stderr and "JAX" in stderr,
        }
    wall = time.perf_counter() - start
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line.removeprefix(RESULT_PREFIX))
            result["process_seconds"] = wall
            result["fork_warning"] = "fork" in stderr and "JAX" in stderr
            return result
    raise RuntimeError(
        f"The {backend} run exited with status {child.returncode} and no "
        f"result; the end of its error output:\n{stderr[-3000:]}"
    )


# Report


def summarise(backend, runs, reference):
    """One backend's repeats reduced to the figures of the table."""
    finished = [run for run in runs if not run.get("hung")]
    summary = {"backend": backend, "runs": len(runs), "hung": len(runs) - len(finished)}
    summary["fork_warning"] = any(run.get("fork_warning") for run in runs)
    if not finished:
        summary["timeout"] = runs[0]["timeout"]
        summary["cpu_seconds_in_last_5s"] = runs[0]["cpu_seconds_in_last_5s"]
        return summary
    seconds = [run["seconds"] for run in finished]
    summary["seconds"] = statistics.median(seconds)
    summary["seconds_range"] = [min(seconds), max(seconds)]
    if "cluster_seconds" in finished[0]:
        cluster = [run["cluster_seconds"] for run in finished]
        summary["cluster_seconds"] = statistics.median(cluster)
    summary["best_params"] = finished[0]["best_params"]
    summary["best_score"] = finished[0]["best_score"]
    if reference is not None:
        summary["same_scores"] = all(
            run["scores"] == reference["scores"] for run in finished
        )
    return summary


def _cell(summary):
    if "seconds" not in summary:
        return (
            f"hung (killed after {summary['timeout']:g} s; "
            f"{summary['cpu_seconds_in_last_5s']:g} CPU s in its last 5 s)"
        )
    low, high = summary["seconds_range"]
    return f"{summary['seconds']:.1f} ({low:.1f}-{high:.1f})"


def report_lines(results):
    """The results as Markdown."""
    info = results["machine"]
    lines = [
        f"{info['date']}, {info['cpu_model'] or info['processor']}, "
        f"{info['n_cpus']} CPUs, load average at start "
        f"{' / '.join(map(str, info['load_average']))}; jax {info['jax']}, "
        f"scikit-learn {info['scikit-learn']}, joblib {info['joblib']}, "
        f"dask {info['dask']}, distributed {info['distributed']}; "
        f"sklearn_jaxmlp from {info['sklearn_jaxmlp']}",
        "",
        f"GridSearchCV, {N_CANDIDATES} candidates x "
        f"cv={CV} + refit, digits, max_iter={results['max_iter']}; "
        f"median of {results['repeat']} fresh processes (range)",
        "",
        "| backend | search seconds | cluster start seconds | same scores as "
        "n_jobs=1 | best params |",
        "|---|---|---|---|---|",
    ]
    for summary in results["summaries"]:
        cluster = summary.get("cluster_seconds")
        same = summary.get("same_scores")
        lines.append(
            f"| {summary['backend']} | {_cell(summary)} | "
            f"{'' if cluster is None else f'{cluster:.1f}'} | "
            f"{'' if same is None else ('yes' if same else 'NO')} | "
            f"{summary.get('best_params', '')} |"
        )
    warned = [s["backend"] for s in results["summaries"] if s["fork_warning"]]
    if warned:
        lines += ["", f"JAX warned about os.fork() in: {', '.join(warned)}"]
    return lines


def parse_args(argv):
    doc = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(
        description=doc[0],
        epilog="\n\n".join(doc[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="fresh runs per backend (default 2)"
    )
    parser.add_argument(
        "--max-iter", type=int, default=30, help="epochs per fit (default 30)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=BACKENDS,
        default=list(BACKENDS),
        help="the backends to run (default all)",
    )
    parser.add_argument(
        "--fork-timeout",
        type=float,
        default=120,
        help="seconds a multiprocessing run may take before it counts as "
        "hung (default 120)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds any other run may take (default 600)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--run", choices=BACKENDS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark, or one backend's run when started as a fresh process."""
    args = parse_args(argv)
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)

    if args.run:
        result = run_backend(args.run, args.max_iter)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return

    results = {
        "machine": machine_info(),
        "max_iter": args.max_iter,
        "repeat": args.repeat,
        "grid": {name: repr(values) for name, values in GRID.items()},
        "cv": CV,
        "runs": {},
        "summaries": [],
    }
    for backend in args.only:
        timeout = args.fork_timeout if backend == "multiprocessing" else args.timeout
        runs = []
        for _ in range(args.repeat):
            runs.append(run_fresh(backend, args.max_iter, timeout))
            print(f"{backend}: {_cell(summarise(backend, runs, None))}", flush=True)
            if runs[-1].get("hung"):
                break  # one hang answers the question; do not wait again
        results["runs"][backend] = runs
    reference = next(iter(results["runs"].get("n_jobs=1", [])), None)
    for backend, runs in results["runs"].items():
        results["summaries"].append(summarise(backend, runs, reference))
    results["machine"]["load_average_at_end"] = [
        round(load, 2) for load in os.getloadavg()
    ]

    print("\n".join(report_lines(results)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
