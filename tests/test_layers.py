"""The server's start-up probe of the worker jail's kernel layers (executor/layers.py): what
it finds on this kernel, and that a missing required layer stops the server instead of
letting it serve. (Under gVisor: tests/docker/test_container.py::test_sandbox_layers_reported.)"""
from __future__ import annotations

from dataclasses import replace

import pytest

from executor.jail import landlock
from executor.layers import LayerMissingError, probe_layers, report_layers
from executor.metrics import Metrics


def _gauge(metrics: Metrics, layer: str) -> float:
    return metrics.registry.get_sample_value("sandcell_sandbox_layer_enforced", {"layer": layer})


def test_probe_sees_the_layers_hold_on_this_kernel():
    layers = probe_layers()
    assert layers.seccomp is True and layers.gvisor is False
    assert layers.landlock is (landlock.ABI is not None) and layers.landlock_abi == (landlock.ABI or 0)
    metrics = Metrics.create()
    report_layers(layers, metrics)
    assert _gauge(metrics, "seccomp") == 1 and _gauge(metrics, "gvisor") == 0
    assert _gauge(metrics, "landlock") == (1 if layers.landlock else 0)


def test_a_missing_seccomp_layer_stops_the_server(caplog):
    metrics = Metrics.create()
    broken = replace(probe_layers(), seccomp=False, detail="seccomp: [Errno 22] Invalid argument")
    with pytest.raises(LayerMissingError, match="seccomp filter does not hold"):
        report_layers(broken, metrics)
    assert _gauge(metrics, "seccomp") == 0


def test_a_missing_landlock_is_reported_not_hidden(caplog):
    metrics = Metrics.create()
    report_layers(replace(probe_layers(), landlock=False, detail="landlock: not offered"), metrics)
    assert _gauge(metrics, "landlock") == 0
    assert any(getattr(r, "layer", None) == "landlock" and r.levelname == "WARNING" for r in caplog.records)
