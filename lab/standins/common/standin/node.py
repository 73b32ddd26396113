"""What the embedded kubelet of K3s (and RKE2's kubelet, run the same way) does to the Node object,
and the node's runtime files.

Labels and taints from node-label / node-taint apply only when the Node is registered: an
existing Node keeps its labels and taints on restart (kubelet's --node-labels and
--register-with-taints semantics, the K3s docs' "only at registration"). The stand-in's kubelet is
kwok (annotation kwok.x-k8s.io/node=fake): it keeps the Node's lease and Ready condition and
plays the Pods bound to it.
"""

from __future__ import annotations

import base64
import contextlib
import grp
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import sys
from pathlib import Path

import gpus
from common import BIN_DIR, VERSION, arch, cpu_count, hostname, info, machine_id, memory_kib, os_image, warn
from flavour import FLAVOUR, RKE2_PROFILES
from kube import ApiError, Kube

KUBELET_LABELS = [
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
]
KUBELET_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"]
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
NODE_PASSWORD_FILE = Path("/etc/rancher/node/password")


class KubeletError(Exception):
    """kubelet refused its flags."""


def kubelet_refused(exc: Exception) -> None:
    """What K3s prints when its embedded kubelet refuses a flag (k3s #10916), then exit 1."""
    sys.stderr.write(f"Error: {exc}\n")
    sys.stderr.flush()
    sys.exit(1)


def split_list(values: list[str]) -> list[str]:
    """Repeatable K3s flags also accept comma-separated items (cli.StringSlice)."""
    out = []
    for value in values:
        out.extend(v.strip() for v in str(value).split(",") if v.strip())
    return out


def parse_labels(values: list[str]) -> dict[str, str]:
    labels = {}
    for item in values:
        key, _sep, value = item.partition("=")
        labels[key.strip()] = value.strip()
    unknown = []
    for key in labels:
        namespace = key.split("/", 1)[0] if "/" in key else ""
        in_k8s = any(namespace == d or namespace.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))
        allowed = key in KUBELET_LABELS or any(
            namespace == ns or namespace.endswith("." + ns) for ns in KUBELET_NAMESPACES
        )
        if in_k8s and not allowed:
            unknown.append(key)
    if unknown:
        raise KubeletError(
            "failed to validate kubelet flags: unknown 'kubernetes.io' or 'k8s.io' labels specified with "
            f"--node-labels: [{' '.join(sorted(unknown))}]\n--node-labels in the 'kubernetes.io' namespace must "
            f"begin with an allowed prefix ({', '.join(KUBELET_NAMESPACES)}) or be in the specifically allowed set "
            f"({', '.join(KUBELET_LABELS)})"
        )
    return labels


def parse_taints(values: list[str]) -> list[dict]:
    taints = []
    for spec in values:
        head, sep, effect = spec.rpartition(":")
        if not sep or effect not in TAINT_EFFECTS or not head:
            raise KubeletError(f'failed to parse kubelet flag: invalid taint spec: "{spec}"')
        key, _sep, value = head.partition("=")
        taint = {"key": key, "effect": effect}
        if value:
            taint["value"] = value
        taints.append(taint)
    return taints


def node_name(given: str, with_node_id: bool) -> str:
    name = (given or hostname()).lower()
    if with_node_id:
        ident = Path("/etc/rancher/node/id") if Path("/etc/rancher/node").exists() else None
        value = (
            ident.read_text().strip() if ident and ident.exists() else hashlib.sha256(machine_id().encode()).hexdigest()
        )
        name = f"{name}-{value[:8]}"
    return name


def node_password() -> str:
    """/etc/rancher/node/password: kept across reinstalls (uninstall does not remove /etc/rancher/node)."""
    if NODE_PASSWORD_FILE.exists():
        return NODE_PASSWORD_FILE.read_text().strip()
    NODE_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(16)
    fd = os.open(NODE_PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def node_args_annotation(command: str, cli_args: list[str], parsed_values: dict) -> str:
    """k3s.io/node-args (rke2.io/node-args): the command line, secrets replaced by ********."""
    args = [command]
    hide = False
    for arg in cli_args:
        name = arg.lstrip("-").split("=", 1)[0]
        if hide:
            args.append("********")
            hide = False
            continue
        if name in ("token", "t", "agent-token", "datastore-endpoint"):
            if "=" in arg:
                args.append(arg.split("=", 1)[0] + "=********")
            else:
                args.append(arg)
                hide = True
            continue
        args.append(arg)
    return json.dumps(args)


def annotations(
    command: str, cli_args: list[str], values: dict, node_ips: list[str], external_ips: list[str]
) -> dict[str, str]:
    """The annotations K3s/RKE2 put on their Node (k3s.io/* or rke2.io/*), secrets left out."""
    hashed = {k: v for k, v in values.items() if k not in ("token", "agent-token")}
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True, default=str).encode()).digest()
    env = {k: ("********" if "TOKEN" in k else v) for k, v in os.environ.items() if k.startswith(FLAVOUR.env)}
    key = FLAVOUR.annotation
    ann = {
        key("hostname"): hostname(),
        key("internal-ip"): ",".join(node_ips),
        key("node-args"): node_args_annotation(command, cli_args, values),
        key("node-config-hash"): base64.b32encode(digest)[:52].decode(),
        key("node-env"): json.dumps(env, sort_keys=True),
        "alpha.kubernetes.io/provided-node-ip": ",".join(node_ips),
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "kwok.x-k8s.io/node": "fake",
    }
    if external_ips:
        ann[key("external-ip")] = ",".join(external_ips)
    ann.update(machine_annotations())
    return ann


# The lab's description of the machine a node container stands for: how many NVIDIA GPUs it has
# (a file the lab mounts into a GPU node's container; absent: none).
MACHINE_GPUS_FILE = Path("/etc/edgeai-lab/simulated-nvidia-gpus")
# The RuntimeClasses K3s's runtimes.yaml and RKE2's rke2-runtimeclasses chart deploy (handler = name).
RUNTIME_CLASSES = ("crun", "lunatic", "nvidia", "nvidia-experimental", "slight", "spin", "wasmedge", "wasmer",
                   "wasmtime", "wws")  # fmt: skip


def machine_annotations() -> dict[str, str]:
    """The simulated hardware of this node as the Node's annotation (lab/standins/gpu/README.md)."""
    try:
        count = int(MACHINE_GPUS_FILE.read_text().strip())
    except (OSError, ValueError):
        return {}
    return {gpus.HARDWARE_ANNOTATION: str(count)} if count > 0 else {}


def report_gpus(kube: Kube, name: str) -> None:
    """STAND-IN for the kubelet's device manager: nvidia.com/gpu on this Node while a device plugin Pod
    runs here (gpus.py decides), as the lab's runner does for its kwok nodes."""
    node = kube.get(f"/api/v1/nodes/{name}")
    pods = kube.get(f"/api/v1/pods?fieldSelector=spec.nodeName%3D{name}").get("items", [])
    line = gpus.report(kube, node, gpus.plugins_by_node(pods).get(name, []))
    if line:
        info(f"Device plugin stand-in: {line}")


def kubectl_in_data_dir(data_dir: Path) -> None:
    """RKE2: <data-dir>/bin/kubectl exists after the first start (the runtime's binaries are put there)."""
    if not FLAVOUR.kubectl_in_data_dir:
        return
    bin_dir = data_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "kubectl"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(BIN_DIR / "kubectl")


def profile_problem(command: str, profile: str) -> str | None:
    """RKE2's profile (cis, etcd): the name must be known, and a CIS server needs the etcd user and
    group (etcd runs as them). The kernel parameters of rke2-cis-sysctl.conf are not checked: a node
    container has the host's."""
    if not profile:
        return None
    if profile not in RKE2_PROFILES:
        return f"invalid value provided for --profile flag: {profile} (valid: {', '.join(RKE2_PROFILES)})"
    missing = []
    if command == "server" and profile.startswith("cis"):
        for what, lookup in (("user", pwd.getpwnam), ("group", grp.getgrnam)):
            try:
                lookup("etcd")
            except KeyError:
                missing.append(f"{what}: etcd")
    return f"missing required: {', '.join(missing)}" if missing else None


def default_labels(name: str) -> dict[str, str]:
    return {
        "beta.kubernetes.io/arch": arch(),
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch(),
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": FLAVOUR.name,
        "beta.kubernetes.io/instance-type": FLAVOUR.name,
    }


def runtime_version(docker: bool, container_runtime_endpoint: str) -> str:
    if docker:
        return "docker://" + (docker_version() or "unknown")
    if container_runtime_endpoint:
        return "remote://stand-in"
    return "containerd://2.1.5-k3s1.stand-in"


def docker_version() -> str | None:
    """The Docker engine's version from /var/run/docker.sock (cri-dockerd's first call)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect("/var/run/docker.sock")
            sock.sendall(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        body = data.split(b"\r\n\r\n", 1)[1]
        return json.loads(body).get("Version")
    except (OSError, ValueError, IndexError):
        return None


def node_status(name: str, ips: list[str], external_ips: list[str], runtime: str) -> dict:
    addresses = [{"type": "InternalIP", "address": ip} for ip in ips]
    addresses += [{"type": "ExternalIP", "address": ip} for ip in external_ips]
    addresses.append({"type": "Hostname", "address": hostname()})
    kib = memory_kib()
    storage = shutil.disk_usage("/").total // 1024
    resources = {"cpu": str(cpu_count()), "memory": f"{kib}Ki", "pods": "110", "ephemeral-storage": f"{storage}Ki"}
    return {
        "addresses": addresses,
        "capacity": resources,
        "allocatable": dict(resources),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "architecture": arch(),
            "bootID": Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
            "containerRuntimeVersion": runtime,
            "kernelVersion": os.uname().release,
            "kubeProxyVersion": VERSION,
            "kubeletVersion": VERSION,
            "machineID": machine_id(),
            "operatingSystem": "linux",
            "osImage": os_image(),
            "systemUUID": machine_id(),
        },
    }


def register(
    kube: Kube,
    name: str,
    labels: dict[str, str],
    taints: list[dict],
    annotations: dict[str, str],
    status: dict,
    role_labels: dict[str, str] | None = None,
    admin: Kube | None = None,
) -> bool:
    """Create the Node (labels/taints only now) or refresh an existing one; returns True if created."""
    path = f"/api/v1/nodes/{name}"
    current = kube.get_or_none(path)
    created = False
    if current is None:
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {**labels, **default_labels(name)}, "annotations": annotations},
            "spec": {"taints": taints} if taints else {},
        }
        try:
            kube.create("/api/v1/nodes", body)
            created = True
            info(f"Registered node {name} (stand-in kubelet: kwok)")
        except ApiError as exc:
            if exc.status != 409:
                raise
    else:
        # Like kubelet on an existing Node: default labels and K3s's annotations, not node-label/node-taint.
        kube.merge_patch(path, {"metadata": {"labels": default_labels(name), "annotations": annotations}})
        info(f"Node {name} already registered: node-label and node-taint apply only at registration")
    if role_labels:
        (admin or kube).merge_patch(path, {"metadata": {"labels": role_labels}})
    kube.merge_patch(path + "/status", {"status": status})
    return created


def pod_cidr(kube: Kube, name: str) -> str:
    with contextlib.suppress(ApiError, OSError):
        node = kube.get(f"/api/v1/nodes/{name}")
        return node.get("spec", {}).get("podCIDR", "")
    return ""


def write_containerd_config(agent_dir: Path, default_runtime: str, snapshotter: str, docker: bool) -> None:
    """agent/etc/containerd/config.toml as K3s and RKE2 render it (the parts roles grep): detected runtimes,
    default_runtime_name, snapshotter; a config.toml.tmpl / config-v3.toml.tmpl replaces it."""
    etc = agent_dir / "etc" / "containerd"
    etc.mkdir(parents=True, exist_ok=True)
    if docker:
        (etc / "config.toml").unlink(missing_ok=True)
        return
    runtimes = {}
    search = [Path("/usr/local/nvidia/toolkit"), *(Path(p) for p in os.environ.get("PATH", "").split(":") if p)]
    names = {
        "nvidia": "nvidia-container-runtime",
        "nvidia-experimental": "nvidia-container-runtime-experimental",
        "nvidia-cdi": "nvidia-container-runtime.cdi",
        "crun": "crun",
    }
    for runtime, binary in names.items():
        for directory in search:
            if (directory / binary).is_file() and os.access(directory / binary, os.X_OK):
                runtimes[runtime] = str(directory / binary)
                info(f"Found {runtime} container runtime at {directory / binary}")
                break
    lines = [
        f"# File generated by {FLAVOUR.name} (edgeai lab stand-in). DO NOT EDIT. Use config-v3.toml.tmpl instead.",
        "version = 3",
        f'root = "{agent_dir / "containerd"}"',
        'state = "/run/k3s/containerd"',
        "",
        "[plugins.'io.containerd.cri.v1.images']",
        f'  snapshotter = "{snapshotter}"',
        "",
        "[plugins.'io.containerd.cri.v1.runtime'.containerd]",
    ]
    if default_runtime:
        lines.append(f'  default_runtime_name = "{default_runtime}"')
    lines += [
        "",
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
        '  runtime_type = "io.containerd.runc.v2"',
        "",
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
        "  SystemdCgroup = true",
    ]
    for runtime, binary in runtimes.items():
        lines += [
            "",
            f"[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.'{runtime}']",
            '  runtime_type = "io.containerd.runc.v2"',
            "",
            f"[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.'{runtime}'.options]",
            f'  BinaryName = "{binary}"',
            "  SystemdCgroup = true",
        ]
    base = "\n".join(lines) + "\n"
    if default_runtime and default_runtime not in ("runc", *runtimes):
        warn(f"default-runtime {default_runtime} names no runtime found on this node; pods will fail to start")
    for template in ("config-v3.toml.tmpl", "config.toml.tmpl"):
        if (etc / template).exists():
            info(f"Using containerd template at {etc / template}")
            base = (etc / template).read_text().replace('{{ template "base" . }}', base)
            break
    (etc / "config.toml").write_text(base)


def check_airgap_images(agent_dir: Path) -> None:
    """K3s and RKE2 import agent/images/*.tar{,.gz,.zst} at start; a broken tarball is an error, not fatal."""
    images = agent_dir / "images"
    if not images.is_dir():
        return
    magic = {".zst": b"\x28\xb5\x2f\xfd", ".gz": b"\x1f\x8b", ".tar": None}
    for path in sorted(images.iterdir()):
        suffix = next((s for s in magic if path.name.endswith(s)), None)
        if suffix is None or not path.is_file():
            continue
        with open(path, "rb") as handle:
            head = handle.read(512)
        good = head.startswith(magic[suffix]) if magic[suffix] else head[257:262] == b"ustar"
        if good:
            info(f"Imported images from {path} (stand-in: checked, not loaded)")
        else:
            warn(f"Unable to import {path}: not a valid {suffix} image archive")
