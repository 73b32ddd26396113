"""Which product this build stands in for: K3s or RKE2 (``"flavour"`` in VERSION.json).

One program serves both: RKE2 is built on K3s's code (its main calls K3s's config parser, agent and
server), so the two differ in names, paths, ports, flags and packaging, not in how they work. What
differs is decided here, once; everything else is shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common import INFO


@dataclass(frozen=True)
class Flavour:
    name: str  # the program: k3s | rke2 (also version.Program in the real code: paths, headers, names)
    display: str  # K3s | RKE2
    description: str  # the NAME line of the program's help
    supervisor_port: int  # joins and agents: server: https://<addr>:<port>
    api_port: int  # kube-apiserver's port
    api_public: bool  # kube-apiserver on the node's addresses (RKE2) or on loopback behind the supervisor (K3s)
    etcd_always: bool  # RKE2 always runs etcd; K3s only with cluster-init or when joined
    multicall: bool  # kubectl/crictl/ctr symlinks to the binary, `k3s kubectl`
    kubectl_in_data_dir: bool  # RKE2: <data-dir>/bin/kubectl after the first start
    commands: tuple[str, ...]  # subcommands that exist but are not simulated
    packaged: dict[str, str] = field(default_factory=dict)  # component (disable item) -> server/manifests entry

    @property
    def env(self) -> str:
        return self.name.upper() + "_"

    @property
    def config_dir(self) -> str:
        return f"/etc/rancher/{self.name}"

    @property
    def config_file(self) -> str:
        return f"{self.config_dir}/config.yaml"

    @property
    def kubeconfig(self) -> str:
        return f"{self.config_dir}/{self.name}.yaml"

    @property
    def data_dir(self) -> str:
        return f"/var/lib/rancher/{self.name}"

    @property
    def api_prefix(self) -> str:
        """The supervisor's own API: /v1-k3s/..., /v1-rke2/..."""
        return f"/v1-{self.name}"

    @property
    def header(self) -> str:
        """Prefix of the supervisor's request headers (K3s-Node-Name, Rke2-Node-Name)."""
        return self.name.capitalize()

    def annotation(self, key: str) -> str:
        return f"{self.name}.io/{key}"

    def node_password_secret(self, node: str) -> str:
        return f"{node}.node-password.{self.name}"

    def unit_patterns(self) -> list[str]:
        """Where a role puts this product's systemd units (install.sh / the RKE2 tarball)."""
        dirs = ["/etc/systemd/system"] + (["/usr/local/lib/systemd/system"] if self.name == "rke2" else [])
        return [f"{d}/{self.name}*.service" for d in dirs]

    def env_file_patterns(self) -> list[str]:
        patterns = [f"/etc/default/{self.name}*", f"/etc/sysconfig/{self.name}*"]
        if self.name == "k3s":
            return ["/etc/systemd/system/k3s*.service.env", *patterns]
        return [*patterns, "/usr/local/lib/systemd/system/rke2*.env"]


K3S = Flavour(
    name="k3s",
    display="K3s",
    description="Kubernetes, but small and simple",
    supervisor_port=6443,
    api_port=6444,
    api_public=False,
    etcd_always=False,
    multicall=True,
    kubectl_in_data_dir=False,
    commands=("crictl", "ctr", "token", "etcd-snapshot", "secrets-encrypt", "certificate", "check-config"),
    packaged={
        "coredns": "coredns.yaml",
        "traefik": "traefik.yaml",
        "local-storage": "local-storage.yaml",
        "metrics-server": "metrics-server",
        "runtimes": "runtimes.yaml",
        "servicelb": "",
    },
)

RKE2 = Flavour(
    name="rke2",
    display="RKE2",
    description="Rancher Kubernetes Engine 2",
    supervisor_port=9345,
    api_port=6443,
    api_public=True,
    etcd_always=True,
    multicall=False,
    kubectl_in_data_dir=True,
    commands=("etcd-snapshot", "certificate", "secrets-encrypt", "token", "completion"),
    packaged={
        "rke2-coredns": "rke2-coredns.yaml",
        "rke2-metrics-server": "rke2-metrics-server.yaml",
        "rke2-runtimeclasses": "rke2-runtimeclasses.yaml",
        "rke2-snapshot-controller": "rke2-snapshot-controller.yaml",
        "rke2-snapshot-controller-crd": "rke2-snapshot-controller-crd.yaml",
        "rke2-snapshot-validation-webhook": "rke2-snapshot-validation-webhook.yaml",
    },
)

# RKE2's cni and ingress-controller choices and the manifests they deploy.
RKE2_CNI = {
    "canal": ["rke2-canal.yaml"],
    "calico": ["rke2-calico-crd.yaml", "rke2-calico.yaml"],
    "cilium": ["rke2-cilium.yaml"],
    "flannel": ["rke2-flannel.yaml"],
    "multus": ["rke2-multus.yaml"],
    "none": [],
}
RKE2_INGRESS = {"ingress-nginx": "rke2-ingress-nginx.yaml", "traefik": "rke2-traefik.yaml", "none": ""}
RKE2_PROFILES = ("cis", "cis-1.23", "etcd")

FLAVOUR = {"k3s": K3S, "rke2": RKE2}[INFO.get("flavour", "k3s")]
