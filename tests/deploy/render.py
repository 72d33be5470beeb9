"""deploy/ rendered and checked without a cluster, by the pinned tools `make tools` puts in
.tools/ (deploy/check-tools.txt): kubectl's built-in kustomize, kubernetes-validate (the
OpenAPI schemas of every Kubernetes version, offline) and checkov."""
from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

import yaml

__all__ = ["ROOT", "DEPLOY", "OVERLAYS", "KUBERNETES_VERSION", "tool", "render", "render_text", "objects",
           "pick", "pod_spec", "executor_container"]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("base", "overlays/gvisor", "overlays/dev")
# The oldest release still supported upstream when this was written; native gRPC probes are
# GA since 1.27, RuntimeClass since 1.20.
KUBERNETES_VERSION = "1.32.0"


def tool(name: str) -> str:
    path = ROOT / ".tools" / "bin" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make tools` (make test does)")
    return str(path)


def render_text(path: Path) -> str:
    """`kubectl kustomize PATH`: the YAML stream kubectl apply -k would send."""
    out = subprocess.run([tool("kubectl"), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"kubectl kustomize {path}: {out.stderr}"
    return out.stdout


@cache
def render(overlay: str) -> str:
    return render_text(DEPLOY / overlay)


def objects(overlay: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(render(overlay)) if d]


def pick(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{len(found)} {kind} objects named {name!r}"
    return found[0]


def pod_spec(overlay: str) -> dict:
    return pick(objects(overlay), "StatefulSet")["spec"]["template"]["spec"]


def executor_container(overlay: str) -> dict:
    return next(c for c in pod_spec(overlay)["containers"] if c["name"] == "executor")
