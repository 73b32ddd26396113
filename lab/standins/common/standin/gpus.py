"""STAND-IN for what the NVIDIA device plugin makes a kubelet report: ``nvidia.com/gpu`` on the Node.

On a real GPU node the plugin's Pod registers with the kubelet (a gRPC socket under
``/var/lib/kubelet/device-plugins/``), lists the GPUs NVML finds, and the kubelet adds
``nvidia.com/gpu: <n>`` to the Node's capacity and allocatable. When the plugin goes away the
kubelet marks the devices unhealthy: allocatable drops to 0, capacity stays. Nothing else makes the
resource exist.

Here there is no GPU and no kubelet socket, so this module plays that one step, strictly:

- the hardware is simulated: a Node says how many GPUs its machine has in the annotation
  ``lab.edgeai.io/simulated-nvidia-gpus`` (the lab's description of the machine, never a
  Kubernetes resource; a Node without it has no GPU, and a plugin there finds none);
- a device plugin counts as registered on a Node only while one of its Pods is bound there,
  Running and Ready, runs NVIDIA's device-plugin image (repository ``.../k8s-device-plugin``, as
  the upstream DaemonSet and the GPU Operator deploy it) and mounts the kubelet's
  ``/var/lib/kubelet/device-plugins`` from the host, as the real plugin must to register;
- then capacity and allocatable get ``nvidia.com/gpu: <n>``; without such a Pod allocatable is
  ``0`` and capacity is left as it was (the kubelet's behaviour after a plugin stops).

Pure functions over the API's JSON (stdlib only), so the lab's runner
(``lab/standins/gpu/report.py``) and a stand-in agent can share them.
"""

from __future__ import annotations

RESOURCE = "nvidia.com/gpu"
HARDWARE_ANNOTATION = "lab.edgeai.io/simulated-nvidia-gpus"
PLUGIN_SOCKET_DIR = "/var/lib/kubelet/device-plugins"
PLUGIN_IMAGE_REPOSITORY = "k8s-device-plugin"


def simulated_gpus(node: dict) -> int:
    """How many GPUs the lab says the Node's machine has (0 without the annotation or when it is not a count)."""
    value = (node.get("metadata", {}).get("annotations") or {}).get(HARDWARE_ANNOTATION, "0")
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def _image_repository(image: str) -> str:
    """The last path element of an image reference, without tag or digest."""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def is_registered_plugin(pod: dict) -> bool:
    """Whether the Pod is a device plugin the kubelet would have a registration from."""
    status, spec = pod.get("status", {}), pod.get("spec", {})
    if status.get("phase") != "Running" or pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []):
        return False
    host_dirs = {
        v["name"]
        for v in spec.get("volumes") or []
        if (v.get("hostPath") or {}).get("path", "").rstrip("/") == PLUGIN_SOCKET_DIR
    }
    for container in spec.get("containers") or []:
        if _image_repository(container.get("image", "")) != PLUGIN_IMAGE_REPOSITORY:
            continue
        mounts = container.get("volumeMounts") or []
        if any(m.get("name") in host_dirs and m.get("mountPath", "").rstrip("/") == PLUGIN_SOCKET_DIR for m in mounts):
            return True
    return False


def plugins_by_node(pods: list[dict]) -> dict[str, list[str]]:
    """namespace/name of the registered plugin Pods, per Node name."""
    found: dict[str, list[str]] = {}
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if node and is_registered_plugin(pod):
            meta = pod["metadata"]
            found.setdefault(node, []).append(f"{meta.get('namespace')}/{meta.get('name')}")
    return found


def status_patch(node: dict, plugins: list[str]) -> dict | None:
    """The status merge patch the kubelet's device manager would make, or None when nothing changes."""
    status = node.get("status", {})
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    gpus = simulated_gpus(node)
    if plugins and gpus:
        want_capacity, want_allocatable = str(gpus), str(gpus)
    else:
        # no registration (or no GPU found by the plugin): nothing allocatable; capacity stays
        if RESOURCE not in capacity and RESOURCE not in allocatable:
            return None
        want_capacity, want_allocatable = capacity.get(RESOURCE, "0"), "0"
    if capacity.get(RESOURCE) == want_capacity and allocatable.get(RESOURCE) == want_allocatable:
        return None
    return {"status": {"capacity": {RESOURCE: want_capacity}, "allocatable": {RESOURCE: want_allocatable}}}


def report(kube, node: dict, plugins: list[str]) -> str | None:
    """Apply status_patch to the Node through ``kube`` (a standin.kube.Kube); the line to log, or
    None when nothing changed. The one writer both the lab's runner and a stand-in agent call."""
    patch = status_patch(node, plugins)
    if patch is None:
        return None
    name = node["metadata"]["name"]
    kube.merge_patch(f"/api/v1/nodes/{name}/status", patch)
    new = patch["status"]
    why = f"plugin Pod {', '.join(plugins)} registered" if plugins else "no plugin Pod registered"
    return (
        f"{name}: {why}, {HARDWARE_ANNOTATION}={simulated_gpus(node)}: capacity {RESOURCE}="
        f"{new['capacity'][RESOURCE]}, allocatable {RESOURCE}={new['allocatable'][RESOURCE]}"
    )
