"""What the benchmark scripts record about the machine they ran on."""

import os
import platform
from datetime import datetime


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or an empty string."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def describe():
    """Date, processor, CPU model and the CPUs this process may use."""
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        n_cpus = os.cpu_count()
    return {
        "date": datetime.now().isoformat(timespec="seconds"),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "n_cpus": n_cpus,
    }
