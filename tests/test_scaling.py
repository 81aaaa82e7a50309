"""Training on several devices: the device parameters, and data parallelism.

JAX fixes its devices when it starts, so the checks that need two devices
run tests/_two_devices.py in a process of its own, with JAX_NUM_CPU_DEVICES=2
(and JAX_PLATFORMS=cpu, so that they run alike on a machine with a GPU).
The checks of one fit over two JAX processes start two of
tests/_two_processes.py, which meet on 127.0.0.1.
"""

import json
import os
import pickle
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import _two_devices
import _two_processes
import jax
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris

import sklearn_jaxmlp
from sklearn_jaxmlp import JaxMLPClassifier

_TESTS = Path(__file__).parent

# The largest difference in predict_proba between a fit on one device and
# on two, measured after 10 epochs (iterations) on 301 digits: 3e-8 for
# minibatches, 1.2e-7 for a full batch, 5.3e-6 for L-BFGS, whose line
# searches amplify float32 rounding. The bounds leave about 10x room.
_PROBA_ATOL = {"lbfgs": 1e-4}
_PROBA_ATOL_DEFAULT = 1e-6


def _env(**extra):
    env = dict(os.environ, **extra)
    root = str(Path(sklearn_jaxmlp.__file__).parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    """The results of tests/_two_devices.py, run with two CPU devices."""
    out = tmp_path_factory.mktemp("two_devices") / "results.json"
    subprocess.run(
        [sys.executable, str(_TESTS / "_two_devices.py"), str(out)],
        env=_env(JAX_NUM_CPU_DEVICES="2", JAX_PLATFORMS="cpu"),
        check=True,
        timeout=600,
    )
    return out, json.loads(out.read_text())


@pytest.mark.parametrize("case", list(_two_devices.CASES))
def test_data_parallel_fit_matches_one_device(two_devices, case):
    _, results = two_devices
    assert results["n_devices"] == 2
    result = results["cases"][case]
    assert result["n_iter"][0] == result["n_iter"][1]
    assert result["proba"] <= _PROBA_ATOL.get(case, _PROBA_ATOL_DEFAULT)
    assert result["loss"] <= 1e-5


def test_data_parallel_refit_compiles_nothing(two_devices):
    _, results = two_devices
    assert results["refit_compiles"] == 0


def test_device_named_first_leads_the_same_fit(two_devices):
    _, results = two_devices
    assert results["led_by_device_1"] <= _PROBA_ATOL_DEFAULT


def test_too_many_devices_are_refused(two_devices):
    _, results = two_devices
    errors = results["errors"]
    assert errors["{'data_parallel': 3}"].startswith(
        "data_parallel=3 asks for 3 devices; there are 2 cpu device(s)"
    )
    assert errors["{'device': 'cpu:2'}"].startswith(
        "device='cpu:2' asks for cpu device '2'; this process has 2 cpu device(s)"
    )


def test_two_device_model_loads_and_predicts_in_this_process(two_devices):
    # This process has JAX's usual devices, one CPU device on a CPU machine
    out, _ = two_devices
    clf = pickle.loads(out.with_suffix(".pkl").read_bytes())
    assert clf.data_parallel == 2
    for name, value in vars(clf).items():
        for leaf in jax.tree.leaves(value):
            assert not isinstance(leaf, jax.Array), name
    X, _ = load_digits(return_X_y=True)
    want = np.load(out.with_suffix(".npy"))
    np.testing.assert_allclose(clf.predict_proba(X[:301] / 16), want, atol=1e-6)


# In this process


def _iris():
    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(device="no-such-platform"), "device='no-such-platform' names no "),
        (dict(device="cpu:7"), "device='cpu:7' asks for cpu device '7'"),
        (dict(device="cpu:x"), "device='cpu:x' asks for cpu device 'x'"),
        (dict(device=3), "The 'device' parameter of JaxMLPClassifier must be"),
        (dict(data_parallel=0), "The 'data_parallel' parameter of JaxMLPClass"),
        (dict(data_parallel="2"), "The 'data_parallel' parameter of JaxMLPClass"),
        (
            dict(data_parallel=len(jax.devices()) + 1),
            f"data_parallel={len(jax.devices()) + 1} asks for",
        ),
    ],
    ids=[
        "unknown-platform",
        "index-too-large",
        "index-not-a-number",
        "device-int",
        "zero-devices",
        "devices-as-text",
        "more-devices-than-exist",
    ],
)
def test_bad_device_values_are_refused(params, message):
    X, y = _iris()
    clf = JaxMLPClassifier(max_iter=1, **params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


def _a_platform_this_process_lacks():
    for platform in ("gpu", "tpu"):
        try:
            jax.local_devices(backend=platform)
        except RuntimeError:
            return platform
    raise AssertionError("this process has both GPU and TPU devices")


def test_missing_accelerator_is_refused():
    missing = _a_platform_this_process_lacks()
    X, y = _iris()
    with pytest.raises(ValueError, match=f"device='{missing}' names no platform JAX"):
        JaxMLPClassifier(device=missing, max_iter=1).fit(X, y)


def test_predicting_on_a_missing_device_is_refused():
    X, y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        clf = JaxMLPClassifier(hidden_layer_sizes=(5,), max_iter=2).fit(X, y)
    clf.set_params(device="cpu:7")
    with pytest.raises(ValueError, match="device='cpu:7' asks for cpu device"):
        clf.predict(X)


@pytest.mark.parametrize("data_parallel", [1, True], ids=["one", "all-of-one"])
def test_one_device_of_data_parallel_is_the_plain_fit(data_parallel, count_compiles):
    # The suite's own process has one CPU device (the several-device checks
    # run in subprocesses), so data_parallel=True on the CPU means one device
    assert len(jax.devices("cpu")) == 1
    X, y = _iris()
    kwargs = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        plain = JaxMLPClassifier(**kwargs).fit(X, y)
        before = count_compiles()
        one = JaxMLPClassifier(**kwargs, data_parallel=data_parallel).fit(X, y)
    assert count_compiles() == before
    for a, b in zip(plain.coefs_, one.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_device_object_clones_and_pickles_as_its_name():
    device = jax.devices()[-1]
    clf = JaxMLPClassifier(hidden_layer_sizes=(5,), max_iter=2, device=device)
    assert clone(clf).device is device
    assert clone(clf).get_params()["max_iter"] == 2
    name = f"{device.platform}:{len(jax.devices()) - 1}"
    assert pickle.loads(pickle.dumps(clf)).device == name
    assert clf.device is device

    X, y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        clf.fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.device == name
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_device_by_platform_name_trains_there():
    X, y = _iris()
    kwargs = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        on_cpu = JaxMLPClassifier(**kwargs, device="cpu").fit(X, y)
        default = JaxMLPClassifier(**kwargs).fit(X, y)
    # The same on a CPU machine; a GPU's float32 arithmetic differs a little
    np.testing.assert_allclose(
        on_cpu.predict_proba(X), default.predict_proba(X), atol=1e-5
    )


# Two JAX processes


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """What each of two processes of tests/_two_processes.py predicted."""
    folder = tmp_path_factory.mktemp("two_processes")
    port = str(_free_port())
    env = _env(JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="1")
    script = str(_TESTS / "_two_processes.py")
    processes = [
        subprocess.Popen(
            [sys.executable, script, str(i), port, str(folder / f"{i}.npz")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    try:
        for process in processes:
            output, _ = process.communicate(timeout=600)
            assert process.returncode == 0, output[-4000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [dict(np.load(folder / f"{i}.npz")) for i in range(2)]


def test_processes_end_with_the_same_model(two_processes):
    first, second = two_processes
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


@pytest.mark.parametrize("case", list(_two_processes.CASES))
def test_two_process_fit_matches_one_process_on_all_rows(two_processes, case):
    X, y = load_digits(return_X_y=True)
    X, y = X[: _two_processes.N_ROWS] / 16, y[: _two_processes.N_ROWS]
    params = dict(**_two_processes.COMMON, **_two_processes.CASES[case])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        clf = JaxMLPClassifier(**params, random_state=0).fit(X, y)
    got = two_processes[0]
    assert got[f"{case}-n_iter"] == clf.n_iter_
    atol = _PROBA_ATOL.get(case, _PROBA_ATOL_DEFAULT)
    np.testing.assert_allclose(got[case], clf.predict_proba(X), rtol=0, atol=atol)


def test_processes_refuse_a_partial_mesh(two_processes):
    message = str(two_processes[0]["error"])
    assert message.startswith(
        "data_parallel=3: with 2 JAX processes, a fit runs on the devices of all"
    )
