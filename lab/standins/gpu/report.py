"""STAND-IN runner: the device plugin's report (``nvidia.com/gpu`` on a Node) for the lab's kwok nodes.

Started by the lab's "kwok" part beside kwok (which plays those nodes' kubelet). Every 2 s it reads
the Nodes and Pods of the lab's API and patches a Node's status as the kubelet's device manager
would (``lab/standins/common/standin/gpus.py`` says exactly when). It never labels a Node, never
creates a Pod and never touches a Node without a registered plugin beyond setting its allocatable
GPUs to 0. Not shipped; named a stand-in in every log line.

    python report.py --kubeconfig .lab/kube/kubeconfig
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from base64 import b64decode
from pathlib import Path
from urllib.parse import urlparse

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from standin import gpus
from standin.kube import ApiError, Kube


def _client(kubeconfig: Path, scratch: Path) -> Kube:
    """A client for the kubeconfig's current context (client-certificate users, as the lab's)."""
    doc = yaml.safe_load(kubeconfig.read_text())
    ctx_name = doc.get("current-context") or doc["contexts"][0]["name"]
    ctx = next(c["context"] for c in doc["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in doc["users"] if u["name"] == ctx["user"])

    def path(section: dict, key: str) -> Path:
        if section.get(f"{key}-data"):
            out = scratch / key
            out.write_bytes(b64decode(section[f"{key}-data"]))
            out.chmod(0o600)
            return out
        return (kubeconfig.parent / section[key]).resolve()

    url = urlparse(cluster["server"])
    return Kube(
        url.hostname or "127.0.0.1",
        url.port or 443,
        path(cluster, "certificate-authority"),
        path(user, "client-certificate"),
        path(user, "client-key"),
        timeout=10,
    )


def reconcile(kube: Kube) -> None:
    nodes = kube.get("/api/v1/nodes").get("items", [])
    pods = kube.get("/api/v1/pods?fieldSelector=status.phase%3DRunning").get("items", [])
    plugins = gpus.plugins_by_node(pods)
    for node in nodes:
        line = gpus.report(kube, node, plugins.get(node["metadata"]["name"], []))
        if line:
            print(f"device-plugin stand-in: {line}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gpu-report-") as scratch:
        kube = _client(args.kubeconfig, Path(scratch))
        print(f"device-plugin stand-in: watching {args.kubeconfig} every {args.interval}s", flush=True)
        while True:
            try:
                reconcile(kube)
            except (ApiError, OSError) as exc:
                print(f"device-plugin stand-in: API error, retrying: {exc}", flush=True)
            time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
