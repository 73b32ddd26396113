"""The command line of K3s and RKE2: config.yaml + drop-ins (K3s's pkg/configfilearg, which RKE2's
main calls too), then CLI flags, then K3S_* / RKE2_* env.

What the real parser does, and so this one:
- the main file, then ``<file>.d/*.yaml|*.yml`` (case-insensitive, sorted); last key wins, lists
  replace, ``key+`` appends; YAML 1.1 (so an unquoted 0644 is the integer 420); every key becomes
  ``--key=value`` (lists: one flag per item), inserted before the CLI args;
- ``server`` drops keys it does not know with a warning; ``agent`` has no such filter, so any key
  it does not define is the CLI parser's fatal "flag provided but not defined";
- Go ``flag`` syntax: ``-x``/``--x``, ``--x=v`` or ``--x v``; booleans never take the next word.

The flag table is K3s's; RKE2's commands copy most of K3s's flags, drop some (cluster-init, docker,
flannel-*, https-listen-port, ...) and add their own (RKE2_FLAGS, as ``rke2 server|agent --help``
of v1.33 list them). A scope ``S/k3s B/rke2`` reads: server-only on K3s, server and agent on RKE2;
``S/k3s`` alone: K3s only.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from common import VERSION, log
from flavour import FLAVOUR

DEFAULT_CONFIG = FLAVOUR.config_file

# kind: s = string, b = bool, l = repeatable string, i = int.  scope: S server, A agent, B both.
# (names, kind, scope, env, default, usage)
FLAGS: list[tuple[str, str, str, str, object, str]] = [
    ("config,c", "s", "B", "K3S_CONFIG_FILE", DEFAULT_CONFIG, "(config) Load configuration from FILE"),
    ("debug", "b", "B", "K3S_DEBUG", False, "(logging) Turn on debug logs"),
    ("v", "i", "B/k3s S/rke2", "", 0, "(logging) Number for the log level verbosity"),
    ("vmodule", "s", "B/k3s S/rke2", "", "", "(logging) Comma-separated list of FILE_PATTERN=LOG_LEVEL settings"),
    ("log,l", "s", "B/k3s S/rke2", "", "", "(logging) Log to file"),
    ("alsologtostderr", "b", "B/k3s S/rke2", "", False, "(logging) Log to standard error as well as file (if set)"),
    ("bind-address", "s", "S/k3s B/rke2", "", "", "(listener) k3s bind address (default: 0.0.0.0)"),
    ("https-listen-port", "i", "S/k3s", "", 6443, "(listener) HTTPS listen port"),
    ("advertise-address", "s", "S", "", "", "(listener) IPv4/IPv6 address that apiserver uses to advertise"),
    ("advertise-port", "i", "S/k3s", "", 0, "(listener) Port that apiserver uses to advertise to members"),
    ("tls-san", "l", "S", "", None, "(listener) Add additional hostnames or IPs as a SAN in the TLS cert"),
    ("tls-san-security", "b", "S", "", True, "(listener) Protect the server TLS cert by refusing extra SANs"),
    ("data-dir,d", "s", "B", "K3S_DATA_DIR", "/var/lib/rancher/k3s", "(data) Folder to hold state"),
    ("cluster-cidr", "s", "S", "", "10.42.0.0/16", "(networking) IPv4/IPv6 network CIDRs to use for pod IPs"),
    ("service-cidr", "s", "S", "", "10.43.0.0/16", "(networking) IPv4/IPv6 network CIDRs to use for service IPs"),
    ("service-node-port-range", "s", "S", "", "30000-32767", "(networking) Port range for NodePort services"),
    ("cluster-dns", "s", "S", "", "10.43.0.10", "(networking) IPv4 Cluster IP for coredns service"),
    ("cluster-domain", "s", "S", "", "cluster.local", "(networking) Cluster Domain"),
    ("flannel-backend", "s", "S/k3s", "", "vxlan", "(networking) Backend (valid values: 'none', 'vxlan', ...)"),
    ("flannel-ipv6-masq", "b", "S/k3s", "", False, "(networking) Enable IPv6 masquerading for pod"),
    ("flannel-external-ip", "b", "S/k3s", "", False, "(networking) Use node external IP addresses for Flannel"),
    ("egress-selector-mode", "s", "S", "", "agent", "(networking) One of 'agent', 'cluster', 'pod', 'disabled'"),
    ("servicelb-namespace", "s", "S", "", "kube-system", "(networking) Namespace of the pods for servicelb"),
    ("write-kubeconfig,o", "s", "S", "K3S_KUBECONFIG_OUTPUT", "", "(client) Write kubeconfig for admin client"),
    ("write-kubeconfig-mode", "s", "S", "K3S_KUBECONFIG_MODE", "", "(client) Write kubeconfig with this mode"),
    ("write-kubeconfig-group", "s", "S", "K3S_KUBECONFIG_GROUP", "", "(client) Write kubeconfig with this group"),
    ("helm-job-image", "s", "S", "", "", "(helm) Default image to use for helm jobs"),
    ("token,t", "s", "B", "K3S_TOKEN", "", "(cluster) Shared secret used to join a server or agent to a cluster"),
    ("token-file", "s", "B", "K3S_TOKEN_FILE", "", "(cluster) File containing the token"),
    ("agent-token", "s", "S", "K3S_AGENT_TOKEN", "", "(cluster) Shared secret used to join agents to the cluster"),
    ("agent-token-file", "s", "S", "K3S_AGENT_TOKEN_FILE", "", "(cluster) File containing the agent secret"),
    ("server,s", "s", "B", "K3S_URL", "", "(cluster) Server to connect to"),
    ("cluster-init", "b", "S/k3s", "K3S_CLUSTER_INIT", False, "(cluster) Initialize a new cluster using embedded Etcd"),
    ("cluster-reset", "b", "S", "K3S_CLUSTER_RESET", False, "(cluster) Forget all peers and become sole member"),
    ("cluster-reset-restore-path", "s", "S", "", "", "(db) Path to snapshot file to be restored"),
    ("kube-apiserver-arg", "l", "S", "", None, "(flags) Customized flag for kube-apiserver process"),
    ("etcd-arg", "l", "S", "", None, "(flags) Customized flag for etcd process"),
    ("kube-controller-manager-arg", "l", "S", "", None, "(flags) Customized flag for kube-controller-manager"),
    ("kube-scheduler-arg", "l", "S", "", None, "(flags) Customized flag for kube-scheduler process"),
    ("kube-cloud-controller-manager-arg", "l", "S", "", None, "(flags) Customized flag for cloud controller"),
    ("datastore-endpoint", "s", "S", "K3S_DATASTORE_ENDPOINT", "", "(db) Specify etcd, NATS, MySQL, Postgres"),
    ("datastore-cafile", "s", "S", "K3S_DATASTORE_CAFILE", "", "(db) TLS Certificate Authority file"),
    ("datastore-certfile", "s", "S", "K3S_DATASTORE_CERTFILE", "", "(db) TLS certification file"),
    ("datastore-keyfile", "s", "S", "K3S_DATASTORE_KEYFILE", "", "(db) TLS key file"),
    ("etcd-expose-metrics", "b", "S", "", False, "(db) Expose etcd metrics to client interface"),
    ("etcd-disable-snapshots", "b", "S", "", False, "(db) Disable automatic etcd snapshots"),
    ("etcd-snapshot-name", "s", "S", "", "etcd-snapshot", "(db) Set the base name of etcd snapshots"),
    ("etcd-snapshot-schedule-cron", "s", "S", "", "0 */12 * * *", "(db) Snapshot interval time in cron spec"),
    ("etcd-snapshot-retention", "i", "S", "", 5, "(db) Number of snapshots to retain"),
    ("etcd-snapshot-dir", "s", "S", "", "", "(db) Directory to save db snapshots"),
    ("etcd-snapshot-compress", "b", "S", "", False, "(db) Compress etcd snapshot"),
    ("etcd-s3", "b", "S", "", False, "(db) Enable backup to S3"),
    ("default-local-storage-path", "s", "S/k3s", "", "", "(storage) Default local storage path"),
    ("disable", "l", "S", "", None, "(components) Do not deploy packaged components and delete any deployed"),
    ("disable-scheduler", "b", "S", "", False, "(components) Disable Kubernetes default scheduler"),
    ("disable-cloud-controller", "b", "S", "", False, "(components) Disable k3s default cloud controller"),
    ("disable-kube-proxy", "b", "S", "", False, "(components) Disable running kube-proxy"),
    ("disable-network-policy", "b", "S/k3s", "", False, "(components) Disable k3s default network policy"),
    ("disable-helm-controller", "b", "S/k3s", "", False, "(components) Disable Helm controller"),
    ("disable-apiserver", "b", "S", "", False, "(experimental/components) Disable running api server"),
    ("disable-controller-manager", "b", "S", "", False, "(experimental/components) Disable controller manager"),
    ("disable-etcd", "b", "S", "", False, "(experimental/components) Disable running etcd"),
    ("embedded-registry", "b", "S", "", False, "(experimental/components) Enable embedded registry mirror"),
    ("supervisor-metrics", "b", "S", "", False, "(experimental/components) Serve k3s internal metrics"),
    ("secrets-encryption", "b", "S/k3s", "", False, "Enable secret encryption at rest"),
    ("system-default-registry", "s", "S", "K3S_SYSTEM_DEFAULT_REGISTRY", "", "(agent/runtime) Private registry"),
    ("disable-agent", "b", "S/k3s", "", False, "Do not run a local agent and register a local kubelet"),
    ("node-name", "s", "B", "K3S_NODE_NAME", "", "(agent/node) Node name"),
    ("with-node-id", "b", "B", "", False, "(agent/node) Append id to node name"),
    ("node-label", "l", "B", "", None, "(agent/node) Registering and starting kubelet with set of labels"),
    ("node-taint", "l", "B", "", None, "(agent/node) Registering kubelet with set of taints"),
    ("image-credential-provider-bin-dir", "s", "B", "", "/var/lib/rancher/credentialprovider/bin", "(agent/node)"),
    ("image-credential-provider-config", "s", "B", "", "/var/lib/rancher/credentialprovider/config.yaml", "(agent)"),
    ("selinux", "b", "B", "K3S_SELINUX", False, "(agent/node) Enable SELinux in containerd"),
    ("lb-server-port", "i", "B", "K3S_LB_SERVER_PORT", 6444, "(agent/node) Local port for supervisor client LB"),
    ("protect-kernel-defaults", "b", "B", "", False, "(agent/node) Kernel tuning behavior"),
    ("docker", "b", "B/k3s", "", False, "(agent/runtime) Use cri-dockerd instead of containerd"),
    ("container-runtime-endpoint", "s", "B", "", "", "(agent/runtime) Disable embedded containerd, use this CRI"),
    ("default-runtime", "s", "B", "", "", "(agent/runtime) Set the default runtime in containerd"),
    ("image-service-endpoint", "s", "B/k3s", "", "", "(agent/runtime) Disable embedded containerd image service"),
    ("disable-default-registry-endpoint", "b", "B", "", False, "(agent/containerd) Disable default endpoint"),
    ("nonroot-devices", "b", "B", "", False, "(agent/containerd) Allows non-root pods to access devices"),
    ("pause-image", "s", "B", "", "rancher/mirrored-pause:3.6", "(agent/runtime) Customized pause image"),
    ("snapshotter", "s", "B", "", "overlayfs", "(agent/runtime) Override default containerd snapshotter"),
    ("private-registry", "s", "B", "", "/etc/rancher/k3s/registries.yaml", "(agent/runtime) Registry config file"),
    ("node-ip,i", "l", "B", "", None, "(agent/networking) IPv4/IPv6 addresses to advertise for node"),
    ("node-external-ip", "l", "B", "", None, "(agent/networking) IPv4/IPv6 external IP addresses"),
    ("node-internal-dns", "l", "B", "", None, "(agent/networking) internal DNS addresses to advertise"),
    ("node-external-dns", "l", "B", "", None, "(agent/networking) external DNS addresses to advertise"),
    ("resolv-conf", "s", "B", "K3S_RESOLV_CONF", "", "(agent/networking) Kubelet resolv.conf file"),
    ("flannel-iface", "s", "B/k3s", "", "", "(agent/networking) Override default flannel interface"),
    ("flannel-conf", "s", "B/k3s", "", "", "(agent/networking) Override default flannel config file"),
    ("flannel-cni-conf", "s", "B/k3s", "", "", "(agent/networking) Override default flannel cni config file"),
    ("vpn-auth", "s", "B/k3s", "K3S_VPN_AUTH", "", "(agent/networking) Credentials for the VPN provider"),
    ("vpn-auth-file", "s", "B/k3s", "K3S_VPN_AUTH_FILE", "", "(agent/networking) File containing VPN credentials"),
    ("kubelet-arg", "l", "B", "", None, "(agent/flags) Customized flag for kubelet process"),
    ("kube-proxy-arg", "l", "B", "", None, "(agent/flags) Customized flag for kube-proxy process"),
    ("enable-pprof", "b", "B", "", False, "(experimental) Enable pprof endpoint on supervisor port"),
    ("rootless", "b", "B/k3s", "", False, "(experimental) Run rootless"),
    ("prefer-bundled-bin", "b", "B/k3s", "", False, "(experimental) Prefer bundled userspace binaries over host"),
    ("disable-apiserver-lb", "b", "A/k3s", "", False, "(agent/networking) Disable the agent's client-side LB"),
    ("airgap-extra-registry", "l", "B/k3s", "", None, "(agent/runtime) Additional registry to tag airgap images"),
]

RKE2_FLAGS: list[tuple[str, str, str, str, object, str]] = [
    ("cni", "l", "S", "RKE2_CNI", ["canal"], "(networking) CNI Plugins to deploy, one of none, calico, canal, ..."),
    ("ingress-controller", "l", "S", "RKE_INGRESS_CONTROLLER", ["ingress-nginx"], "(networking) Ingress Controllers"),
    ("enable-servicelb", "b", "S", "RKE2_ENABLE_SERVICELB", False, "(components) Enable the servicelb controller"),
    ("secrets-encryption-provider", "s", "S", "", "aescbc", "(experimental) Secret encryption provider"),
    ("profile", "s", "B", "RKE2_CIS_PROFILE", "", "(security) Validate system configuration against a benchmark"),
    ("audit-policy-file", "s", "B", "RKE2_AUDIT_POLICY_FILE", "", "(security) Path to the audit policy file"),
    ("pod-security-admission-config-file", "s", "B", "RKE2_POD_SECURITY_ADMISSION_CONFIG_FILE", "", "(security)"),
    ("kubelet-path", "s", "B", "RKE2_KUBELET_PATH", "", "(experimental/agent) Override kubelet binary path"),
    ("cloud-provider-name", "s", "B", "RKE2_CLOUD_PROVIDER_NAME", "", "(cloud provider) Cloud provider name"),
    ("cloud-provider-config", "s", "B", "RKE2_CLOUD_PROVIDER_CONFIG", "", "(cloud provider) Configuration file"),
    ("node-name-from-cloud-provider-metadata", "b", "B", "", False, "(cloud provider) Node name from metadata"),
    *(
        (f"{image}-image", "s", "B", f"RKE2_{image.upper().replace('-', '_')}_IMAGE", "", f"(image) {image} image")
        for image in (
            "kube-apiserver",
            "kube-controller-manager",
            "cloud-controller-manager",
            "kube-proxy",
            "kube-scheduler",
            "runtime",
            "etcd",
        )
    ),
    *(
        (f"control-plane-{what}", "l", "B", f"RKE2_CONTROL_PLANE_{what.upper().replace('-', '_')}", None, "")
        for what in ("resource-requests", "resource-limits", "probe-configuration")
    ),
    *(
        (f"{part}-extra-{what}", "l", "B", f"RKE2_{part.upper().replace('-', '_')}_EXTRA_{what.upper()}", None, "")
        for part in (
            "kube-apiserver",
            "kube-scheduler",
            "kube-controller-manager",
            "kube-proxy",
            "etcd",
            "cloud-controller-manager",
        )
        for what in ("mount", "env")
    ),
]


def _scope(scope: str) -> str | None:
    """The flag's scope (S, A, B) in this flavour, None where the flavour lacks it."""
    if "/" not in scope:
        return scope
    for item in scope.split():
        letter, _sep, flavour = item.partition("/")
        if flavour == FLAVOUR.name:
            return letter
    return None


def _for_flavour(text: str) -> str:
    """K3s's paths and env names in a flag's default and usage, as the flavour spells them."""
    return text.replace("rancher/k3s", f"rancher/{FLAVOUR.name}").replace("k3s ", f"{FLAVOUR.name} ")


def _table() -> list[tuple[str, str, str, str, object, str]]:
    rows = FLAGS + (RKE2_FLAGS if FLAVOUR.name == "rke2" else [])
    table = []
    for names, kind, scope, env, default, usage in rows:
        letter = _scope(scope)
        if letter is None:
            continue
        if isinstance(default, str):
            default = _for_flavour(default)
        table.append((names, kind, letter, env.replace("K3S_", FLAVOUR.env), default, _for_flavour(usage)))
    return table


@dataclass
class Flag:
    names: list[str]
    kind: str
    scope: str
    env: str
    default: object
    usage: str

    @property
    def name(self) -> str:
        return self.names[0]


def flags_for(command: str) -> dict[str, Flag]:
    """Every flag name (and alias) the command defines."""
    wanted = {"server": ("S", "B"), "agent": ("A", "B")}[command]
    table: dict[str, Flag] = {}
    for names, kind, scope, env, default, usage in _table():
        if scope in wanted:
            flag = Flag(names.split(","), kind, scope, env, default, usage)
            for n in flag.names:
                table[n] = flag
    return table


def usage_text(command: str) -> str:
    """urfave/cli's command help: NAME, USAGE, OPTIONS."""
    what = {"server": "Run management server", "agent": "Run node agent"}[command]
    seen, lines = set(), []
    for flag in flags_for(command).values():
        if flag.name in seen:
            continue
        seen.add(flag.name)
        spelled = ", ".join(("--" if len(n) > 1 else "-") + n for n in flag.names)
        if flag.kind != "b":
            spelled = ", ".join(("--" if len(n) > 1 else "-") + n + " value" for n in flag.names)
        extra = f" [${flag.env}]" if flag.env else ""
        lines.append(f"   {spelled:<45} {flag.usage}{extra}")
    return (
        f"NAME:\n   {FLAVOUR.name} {command} - {what}\n\nUSAGE:\n   {FLAVOUR.name} {command} [OPTIONS]\n\nOPTIONS:\n"
        + "\n".join(lines)
        + "\n   --help, -h                                    show help\n"
    )


class UsageError(Exception):
    """The CLI parser refused the arguments (urfave/cli prints 'Incorrect Usage: ...')."""


# --- config file ---------------------------------------------------------------


def _to_string(value: object) -> str:
    # wrangler's convert.ToString: booleans true/false, ints in decimal, floats as Go prints them.
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_list(value: object) -> list:
    if isinstance(value, list):
        return value
    text = _to_string(value).strip()
    return [text] if text else []


def dropin_files(config_file: str) -> list[Path]:
    directory = Path(config_file + ".d")
    if not directory.is_dir():
        return []
    return [
        p
        for p in sorted(directory.iterdir(), key=lambda p: p.name)
        if not p.is_dir() and p.name.lower().endswith((".yaml", ".yml"))
    ]


def config_files(config_file: str) -> list[Path]:
    files = dropin_files(config_file)
    if Path(config_file).exists():
        files.insert(0, Path(config_file))
    return files


def read_config_args(config_file: str) -> tuple[list[str], list[Path]]:
    """The flags config.yaml and its drop-ins stand for, in K3s's order (RKE2 calls the same parser)."""
    files = config_files(config_file)
    order: list[str] = []
    values: dict[str, object] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"failed to parse {path}: {exc}") from exc
        except OSError as exc:
            raise UsageError(str(exc)) from exc
        if not isinstance(data, dict):
            raise UsageError(f"yaml: unmarshal errors: cannot unmarshal {path} into a map")
        for raw_key, value in data.items():
            key = _to_string(raw_key)
            append = key.endswith("+")
            key = key.removesuffix("+")
            if key not in order:
                order.append(key)
            if append and key in values:
                values[key] = _to_list(values[key]) + _to_list(value)
            else:
                values[key] = value
    args = []
    for key in order:
        prefix = "-" if len(key) == 1 else "--"
        value = values[key]
        if isinstance(value, list):
            args.extend(f"{prefix}{key}={_to_string(v)}" for v in value)
        else:
            args.append(f"{prefix}{key}={_to_string(value)}")
    return args, files


def find_config_file(args: list[str]) -> str:
    if os.environ.get(FLAVOUR.env + "CONFIG_FILE"):
        return os.environ[FLAVOUR.env + "CONFIG_FILE"]
    for i, arg in enumerate(args):
        for name in ("--config", "-c"):
            if arg == name:
                return args[i + 1] if i + 1 < len(args) else ""
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return DEFAULT_CONFIG


def strip_unknown_server_flags(args: list[str]) -> list[str]:
    known = flags_for("server")
    kept = []
    for arg in args:
        name = arg.lstrip("-").split("=", 1)[0]
        if name in known:
            kept.append(arg)
        else:
            log("warning", f"Unknown flag {arg.split('=')[0]} found in config.yaml, skipping")
    return kept


# --- the CLI parser (Go flag semantics) ------------------------------------------


@dataclass
class Parsed:
    command: str
    values: dict[str, object] = field(default_factory=dict)
    set_by: dict[str, str] = field(default_factory=dict)  # name -> "config" | "cli" | "env" | "default"
    config_files: list[Path] = field(default_factory=list)
    cli_args: list[str] = field(default_factory=list)

    def get(self, name: str):
        return self.values.get(name)

    def list(self, name: str) -> list[str]:
        return list(self.values.get(name) or [])

    def secret(self, key: str) -> str:
        """The value of ``key`` (token, agent-token), or the content of ``<key>-file`` when that is
        set; OSError when that file cannot be read."""
        path = self.get(f"{key}-file") or ""
        return Path(path).read_text().strip() if path else (self.get(key) or "")


def _parse_bool(name: str, text: str) -> bool:
    low = text.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise UsageError(f'invalid boolean value "{text}" for -{name}: parse error')


def parse_flags(command: str, args: list[str], origins: list[str]) -> tuple[dict, dict]:
    table = flags_for(command)
    values: dict[str, object] = {}
    set_by: dict[str, str] = {}
    replaced_by_cli: set[str] = set()
    i = 0
    while i < len(args):
        arg, origin = args[i], origins[i]
        i += 1
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break  # positional arguments: K3s ignores them
        body = arg[2:] if arg.startswith("--") else arg[1:]
        name, has_value, value = body.partition("=")
        if name in ("help", "h"):
            sys.stdout.write(usage_text(command))
            sys.exit(0)
        flag = table.get(name)
        if flag is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if flag.kind == "b":
            parsed: object = _parse_bool(name, value) if has_value else True
        else:
            if not has_value:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = args[i]
                i += 1
            parsed = value
            if flag.kind == "i":
                try:
                    parsed = int(value)
                except ValueError as exc:
                    raise UsageError(f'invalid value "{value}" for flag -{name}: parse error') from exc
        key = flag.name
        if flag.kind == "l":
            # The CLI's values replace a list the config file gave (K3s docs).
            if origin == "cli" and key not in replaced_by_cli:
                values[key] = []
                replaced_by_cli.add(key)
            values.setdefault(key, []).append(parsed)
        else:
            values[key] = parsed
        set_by[key] = origin
    return values, set_by


def parse(argv: list[str]) -> Parsed:
    """argv = the arguments after the subcommand."""
    command = argv[0]
    cli_args = argv[1:]
    config_file = find_config_file(cli_args)
    config_args: list[str] = []
    files: list[Path] = []
    if config_file:
        config_args, files = read_config_args(config_file)
        if command == "server":
            config_args = strip_unknown_server_flags(config_args)
    args = config_args + cli_args
    origins = ["config"] * len(config_args) + ["cli"] * len(cli_args)
    values, set_by = parse_flags(command, args, origins)
    table = flags_for(command)
    for flag in {f.name: f for f in table.values()}.values():
        if flag.name in values:
            continue
        env = os.environ.get(flag.env, "") if flag.env else ""
        if env:
            if flag.kind == "b":
                values[flag.name] = _parse_bool(flag.name, env)
            elif flag.kind == "i":
                values[flag.name] = int(env)
            elif flag.kind == "l":
                values[flag.name] = [env]
            else:
                values[flag.name] = env
            set_by[flag.name] = "env"
        else:
            values[flag.name] = list(flag.default or []) if flag.kind == "l" else flag.default
            set_by[flag.name] = "default"
    return Parsed(command, values, set_by, files, cli_args)


def incorrect_usage(command: str, message: str) -> None:
    """What urfave/cli prints for a flag it does not know, then the program's fatal line."""
    sys.stdout.write(f"Incorrect Usage: {message}\n\n{usage_text(command)}")
    sys.stdout.flush()
    log("fatal", message)
    sys.exit(1)


def version_text() -> str:
    from common import COMMIT, GO_VERSION

    return f"{FLAVOUR.name} version {VERSION} ({COMMIT})\ngo version {GO_VERSION} (edgeai lab stand-in)\n"
