"""One definition of the container hardening (sandcell/hardening.py), and every place that
expresses it checked against it, so they cannot drift: docker/compose.yaml here (statically,
no Docker needed); the running compose stack and the SDK launcher's containers as Docker
applied them in tests/docker/test_launcher.py. The Kubernetes pod spec reuses
`pod_container_drift` the same way.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sandcell.hardening import compose_drift, pod_container_drift, sdk_run_kwargs

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_DIR = ROOT / "docker"
ROLES = {"executor": "executor", "forwarder": "forwarder", "metrics": "forwarder"}


@pytest.fixture
def compose() -> dict:
    return yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())


def test_compose_file_matches_the_hardening(compose):
    assert compose_drift(compose, ROLES, compose_dir=COMPOSE_DIR) == []


@pytest.mark.parametrize("service, key, value", [
    ("executor", "user", "0:0"),
    ("executor", "read_only", False),
    ("executor", "cap_drop", ["NET_RAW"]),
    ("executor", "cap_add", ["SYS_ADMIN"]),
    ("executor", "security_opt", ["seccomp:./seccomp.json"]),        # no-new-privileges dropped
    ("executor", "security_opt", ["no-new-privileges:true", "seccomp:unconfined"]),
    ("executor", "init", False),
    ("executor", "mem_limit", "4g"),
    ("executor", "pids_limit", 4096),
    ("executor", "cpus", 2),
    ("executor", "tmpfs", ["/sessions:size=1g,uid=10001,gid=10001,mode=0700,nosuid,nodev",  # exec allowed
                           "/tmp:size=256m,uid=10001,gid=10001,mode=0700,noexec,nosuid,nodev"]),
    ("executor", "networks", ["sandbox", "edge"]),                    # a way out
    ("forwarder", "ports", ["50051:50051"]),                          # on every interface
    ("forwarder", "memswap_limit", "1g"),
])
def test_compose_drift_is_caught(compose, service, key, value):
    """The check can fail: each setting changed alone is reported."""
    compose["services"][service][key] = value
    drift = compose_drift(compose, ROLES, compose_dir=COMPOSE_DIR)
    assert drift and all(service in d for d in drift), drift


def test_compose_network_with_egress_is_caught(compose):
    compose["networks"]["sandbox"]["internal"] = False
    assert compose_drift(compose, ROLES, compose_dir=COMPOSE_DIR)
    compose["networks"]["sandbox"] = {"internal": True}  # the host's own addresses reachable again
    assert compose_drift(compose, ROLES, compose_dir=COMPOSE_DIR)


def test_launcher_spec_carries_every_setting():
    """The SDK launcher's spec is built from the definition; this pins how each setting is
    spelled for docker-py, so a changed setting changes the spec (the applied result is
    checked on real containers in tests/docker/test_launcher.py)."""
    spec = sdk_run_kwargs("executor")
    assert spec["user"] == "10001:10001" and spec["read_only"] is True and spec["init"] is True
    assert spec["cap_drop"] == ["ALL"] and spec["cap_add"] is None
    assert spec["security_opt"][0] == "no-new-privileges:true" and spec["security_opt"][1].startswith("seccomp={")
    assert spec["mem_limit"] == spec["memswap_limit"] == 2 << 30 and spec["pids_limit"] == 512
    assert spec["nano_cpus"] == 1_500_000_000
    assert spec["tmpfs"] == {"/sessions": "size=1g,uid=10001,gid=10001,mode=0700,noexec,nosuid,nodev",
                             "/tmp": "size=256m,uid=10001,gid=10001,mode=0700,noexec,nosuid,nodev"}
    assert sdk_run_kwargs("forwarder")["tmpfs"] == {} and sdk_run_kwargs("forwarder")["pids_limit"] == 32


# A pod spec as the Kubernetes manifests should express the hardening (the helper is for
# deploy/'s test; this pins that it accepts a faithful spec and rejects a drifted one).
POD = {
    "securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "runAsNonRoot": True,
                        "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/seccomp.json"}},
    "containers": [{
        "name": "executor",
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        "resources": {"limits": {"memory": "2Gi", "cpu": "1500m"}},
        "volumeMounts": [{"name": "sessions", "mountPath": "/sessions"}, {"name": "tmp", "mountPath": "/tmp"}],
    }],
    "volumes": [{"name": "sessions", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
                {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}}],
}


def test_pod_helper_accepts_a_faithful_pod_and_catches_drift():
    assert pod_container_drift(POD, "executor") == []
    for path, value in ((("containers", 0, "securityContext", "allowPrivilegeEscalation"), True),
                        (("containers", 0, "resources", "limits", "memory"), "4Gi"),
                        (("securityContext", "runAsUser"), 0),
                        (("volumes", 0, "emptyDir"), {})):
        pod = copy.deepcopy(POD)
        node = pod
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert pod_container_drift(pod, "executor"), path


@pytest.mark.parametrize("overlay", ["base", "overlays/gvisor", "overlays/dev"])
def test_kubernetes_pod_matches_the_hardening(overlay):
    """deploy/'s pod, as `kubectl kustomize` renders each overlay, against the same definition
    (tests/deploy/ renders it; what a pod spec cannot say is checked beside it: Docker's init
    is the pod's pause process reaping orphans; no egress is tests/deploy's NetworkPolicy check)."""
    from tests.deploy.render import pod_spec
    spec = pod_spec(overlay)
    assert pod_container_drift(spec, "executor") == []
    assert spec["shareProcessNamespace"] is True  # compose's `init: true`
    assert spec["securityContext"]["seccompProfile"]["localhostProfile"].endswith("/seccomp.json")
