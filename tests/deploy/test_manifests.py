"""deploy/ (Kubernetes, kustomize) checked without a cluster: every overlay renders, every
object validates against the pinned Kubernetes version's OpenAPI schemas, the policy scanner
finds nothing that is not waived in the manifests with a reason, and the pod carries the
settings routing and draining rely on. The pod's hardening against compose's is in
tests/test_hardening.py."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.render import (DEPLOY, KUBERNETES_VERSION, OVERLAYS, ROOT, executor_container, objects, pick,
                                 pod_spec, render, render_text, tool)

K8S_QUANTITY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def _bytes(q: str) -> int:
    return int(q[:-2]) * K8S_QUANTITY[q[-2:]]


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(path)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_objects_the_design_names(overlay):
    kinds = sorted(d["kind"] for d in objects(overlay))
    expected = ["ConfigMap", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "Service", "Service",
                "ServiceAccount", "StatefulSet"]
    expected += {"overlays/gvisor": ["RuntimeClass"], "overlays/dev": ["Secret"]}.get(overlay, [])
    assert kinds == sorted(expected)
    namespaced = [d for d in objects(overlay) if d["kind"] not in ("Namespace", "RuntimeClass")]
    assert {d["metadata"].get("namespace") for d in namespaced} == {"sandcell"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_pinned_schemas(overlay, tmp_path):
    path = tmp_path / "rendered.yaml"
    path.write_text(render(overlay))
    out = _validate(path)
    assert out.returncode == 0, out.stdout + out.stderr


def test_schema_validation_can_fail(tmp_path):
    """A misspelt field (strict) and a wrong type are each refused: the check above is real."""
    for broken in (render("base").replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"),
                   render("base").replace("terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: soon")):
        path = tmp_path / "broken.yaml"
        path.write_text(broken)
        assert _validate(path).returncode != 0


def _checkov(directory: Path) -> dict:
    out = subprocess.run([tool("checkov"), "-d", str(directory), "--framework", "kubernetes", "--skip-download",
                          "-o", "json"], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip(), out.stderr[-2000:]
    report = json.loads(out.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="module")
def rendered_dirs(tmp_path_factory):
    """Every overlay rendered, as is and with the waiver annotations removed."""
    waived, bare = tmp_path_factory.mktemp("waived"), tmp_path_factory.mktemp("bare")
    for overlay in OVERLAYS:
        name = overlay.replace("/", "-") + ".yaml"
        (waived / name).write_text(render(overlay))
        (bare / name).write_text(re.sub(r"(?m)^\s+checkov\.io/skip\d+: .*\n", "", render(overlay)))
    return waived, bare


def test_policy_scan_fails_nothing_unwaived_and_every_waiver_is_needed(rendered_dirs):
    waived, bare = rendered_dirs
    report = _checkov(waived)
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    skipped = report["results"]["skipped_checks"]
    assert skipped, "the waivers in deploy/base/statefulset.yaml were not seen"
    for c in skipped:
        reason = (c.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"waiver {c['check_id']} on {c['resource']} has no reason: {reason!r}"
    # A waiver for a check that would pass anyway hides nothing and only rots: each must be needed.
    failing_without = {(c["check_id"], c["resource"]) for c in _checkov(bare)["results"]["failed_checks"]}
    assert {(c["check_id"], c["resource"]) for c in skipped} == failing_without
    assert report["summary"]["passed"] > 50  # the checks ran at all


def test_gvisor_overlay_runs_pods_under_runsc():
    runtime = pick(objects("overlays/gvisor"), "RuntimeClass")
    assert runtime["metadata"]["name"] == "gvisor" and runtime["handler"] == "runsc"
    assert pod_spec("overlays/gvisor")["runtimeClassName"] == "gvisor"
    assert "runtimeClassName" not in pod_spec("base")


def test_dev_overlay_is_one_replica_with_its_own_token_secret():
    docs = objects("overlays/dev")
    assert pick(docs, "StatefulSet")["spec"]["replicas"] == 1
    secret = pick(docs, "Secret")
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in executor_container("overlays/dev")["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs == {secret["metadata"]["name"]} and set(secret["data"]) == {"token", "peer-token"}
    assert pick(objects("base"), "StatefulSet")["spec"]["replicas"] == 3


def test_seccomp_fallback_component_swaps_only_the_profile(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(DEPLOY / "base", tmp_path)],  # kustomize refuses absolute paths
        "components": [os.path.relpath(DEPLOY / "components" / "seccomp-runtime-default", tmp_path)]}))
    docs = [d for d in yaml.safe_load_all(render_text(tmp_path)) if d]
    spec = pick(docs, "StatefulSet")["spec"]["template"]["spec"]
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    spec["securityContext"]["seccompProfile"] = pod_spec("base")["securityContext"]["seccompProfile"]
    assert spec == pod_spec("base")


def test_routing_names_come_from_the_statefulset_and_headless_service():
    """A session id names its pod; peers reach pod N at its stable headless-Service name."""
    docs = objects("base")
    sts = pick(docs, "StatefulSet")
    peers = pick(docs, "Service", sts["spec"]["serviceName"])
    assert peers["spec"]["clusterIP"] == "None" and peers["spec"]["publishNotReadyAddresses"] is True
    assert peers["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    front = pick(docs, "Service", "sandcell-executor")
    assert front["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    env = {e["name"]: e for e in executor_container("base")["env"]}
    assert env["SANDCELL_REPLICA_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["SANDCELL_PEER_ADDRESS_TEMPLATE"]["value"] == f"{{replica}}.{peers['metadata']['name']}:50051"
    assert env["SANDCELL_PEERS"]["value"] == f"dns:{peers['metadata']['name']}:50051"


def test_probes_and_drain():
    """Native gRPC probes on the standard health service; the grace period outlasts the
    server's own drain (SANDCELL_SHUTDOWN_GRACE_S), so running executes finish before SIGKILL."""
    spec, c = pod_spec("base"), executor_container("base")
    port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["grpc"] == {"port": port}, probe
    config = pick(objects("base"), "ConfigMap")["data"]
    assert spec["terminationGracePeriodSeconds"] > float(config["SANDCELL_SHUTDOWN_GRACE_S"]) + 5
    # readiness drops within one probe period of the health service going NOT_SERVING
    assert c["readinessProbe"]["periodSeconds"] * c["readinessProbe"]["failureThreshold"] <= 2


def test_resource_requests_are_sized_from_the_bench():
    """Memory requested covers a full server of idle sessions at the benchmarked cost each
    (bench/results.json) beside the server and zygote; the limit is compose's ceiling."""
    bench = json.loads((ROOT / "bench" / "results.json").read_text())
    res = executor_container("base")["resources"]
    max_sessions = int(pick(objects("base"), "ConfigMap")["data"]["SANDCELL_MAX_SESSIONS"])
    idle = max_sessions * bench["idle_session_uss_mib"] * (1 << 20)
    assert idle + (100 << 20) <= _bytes(res["requests"]["memory"]) <= _bytes(res["limits"]["memory"])


def test_pod_leaves_no_way_in_or_out_but_grpc_and_dns():
    spec, docs = pod_spec("base"), objects("base")
    assert spec["automountServiceAccountToken"] is False
    assert pick(docs, "ServiceAccount")["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False  # no SANDCELL_EXECUTOR_* variables beside our settings
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
    policy = pick(docs, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert [p["port"] for rule in policy["ingress"] for p in rule["ports"]] == [50051]
    egress_ports = sorted((p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"])
    assert egress_ports == [("TCP", 53), ("TCP", 50051), ("UDP", 53)]
    assert pick(docs, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_tenants_component_mounts_the_credentials_file_from_the_secret(tmp_path):
    """Shared servers: the credentials file is a mounted Secret key (re-read when Kubernetes
    updates it), not an environment variable; nothing else in the pod changes."""
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(DEPLOY / "base", tmp_path)],
        "components": [os.path.relpath(DEPLOY / "components" / "tenants", tmp_path)]}))
    docs = [d for d in yaml.safe_load_all(render_text(tmp_path)) if d]
    spec = pick(docs, "StatefulSet")["spec"]["template"]["spec"]
    [container] = [c for c in spec["containers"] if c["name"] == "executor"]
    env = {e["name"]: e for e in container["env"]}
    assert "SANDCELL_TOKEN" not in env
    mount = next(m for m in container["volumeMounts"] if m["name"] == "credentials")
    assert env["SANDCELL_TOKENS_FILE"]["value"] == mount["mountPath"] + "/tokens" and mount["readOnly"]
    volume = next(v for v in spec["volumes"] if v["name"] == "credentials")
    assert volume["secret"] == {"secretName": "sandcell-executor", "items": [{"key": "tokens", "path": "tokens"}]}
    base = pod_spec("base")
    [base_container] = [c for c in base["containers"] if c["name"] == "executor"]
    assert {k: v for k, v in container.items() if k not in ("env", "volumeMounts")} == \
        {k: v for k, v in base_container.items() if k not in ("env", "volumeMounts")}
    assert [v for v in spec["volumes"] if v["name"] != "credentials"] == base["volumes"]
