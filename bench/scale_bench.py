"""Scale benchmark: the node roles converged on 1, 4, 8 and 16 node containers.

For each node count: fresh systemd node containers of the lab's image, reached
through the Docker connection; `bench/scale-site.yml` (node_base + nfs_client,
what every node of a site gets) converged once from bare nodes, then re-run with
nothing to change (``--rounds`` times; the median is reported). The re-runs
must report changed=0. Settings are stated with the results: forks, pipelining,
strategy, fact gathering.

``--strategy mitogen`` runs the same playbook under mitogen's ``mitogen_linear``
strategy (the PyPI package mitogen, a dev dependency): one Python per host kept
over one ``docker exec``, modules run in it. Mitogen takes over Ansible's
``docker`` connection, so that variant reaches the nodes through ``docker``.

Results: bench/results/<name>.json, bench/results/<name>.md, docs/<name>.svg
(``--name``, default scale; make bench also writes scale-mitogen).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from tests.labenv import REPO_ROOT, lab_env
from tests.support import ansible
from tests.support.nodes import node_run_flags

PLAYBOOK = REPO_ROOT / "bench" / "scale-site.yml"
FORKS = 16


def docker(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], check=check, capture_output=True, text=True, timeout=300)


def start_nodes(image: str, count: int) -> list[str]:
    names = [f"edgeai-bench-node-{count}-{i}" for i in range(count)]
    for name in names:
        docker("rm", "-f", name, check=False)
        docker("run", "-d", "--name", name, "--hostname", name, *node_run_flags(), image, "/sbin/init")
    deadline = time.monotonic() + 180
    for name in names:
        while docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip() not in (
            "running",
            "degraded",
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not boot")
            time.sleep(0.5)
    return names


def busy_cpu_seconds() -> float:
    """CPU time the whole machine spent busy so far (controller, Docker, every node container)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def strategy_env(strategy: str) -> dict[str, str]:
    """The environment that selects the strategy: nothing for linear (Ansible's default)."""
    if strategy == "linear":
        return {}
    import ansible_mitogen  # only this variant needs mitogen

    plugins = Path(ansible_mitogen.__file__).resolve().parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def converge(inventory: Path, log: Path, strategy: str) -> tuple[float, dict[str, tuple[int, ...]]]:
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_FORKS=str(FORKS),
        ANSIBLE_NOCOLOR="1",
        **strategy_env(strategy),
    )
    started = time.perf_counter()
    proc = ansible.run_playbook(["-i", str(inventory), str(PLAYBOOK)], env=env)
    seconds = time.perf_counter() - started
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"converge failed ({proc.returncode}), see {log}:\n{proc.stdout[-3000:]}")
    recap = ansible.recap(proc.stdout)
    return seconds, recap


def svg_plot(rows: list[dict], path: Path) -> None:
    """A small line chart (first converge and no-op re-run seconds per node count), no plotting library."""
    width, height, left, bottom, top, right = 560, 320, 60, 40, 20, 150
    counts = [r["nodes"] for r in rows]
    ymax = max(max(r["first_converge_s"], r["noop_rerun_s"]) for r in rows) * 1.1
    xmax = max(counts)

    def x(n: float) -> float:
        return left + (width - left - right) * (n / xmax)

    def y(v: float) -> float:
        return height - bottom - (height - bottom - top) * (v / ymax)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<line x1="{left}" y1="{y(0)}" x2="{x(xmax)}" y2="{y(0)}" stroke="black"/>',
        f'<line x1="{left}" y1="{y(0)}" x2="{left}" y2="{top}" stroke="black"/>',
        f'<text x="{(left + x(xmax)) / 2}" y="{height - 8}" text-anchor="middle">node containers</text>',
        f'<text x="14" y="{(top + y(0)) / 2}" transform="rotate(-90 14 {(top + y(0)) / 2})" '
        'text-anchor="middle">seconds</text>',
    ]
    for n in counts:
        parts.append(f'<text x="{x(n)}" y="{y(0) + 16}" text-anchor="middle">{n}</text>')
    for step in range(5):
        v = ymax * step / 4
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4}" text-anchor="end">{v:.0f}</text>')
    series = (("first_converge_s", "#c0392b", "first converge"), ("noop_rerun_s", "#2471a3", "no-op re-run"))
    for key, colour, label in series:
        points = " ".join(f"{x(r['nodes']):.1f},{y(r[key]):.1f}" for r in rows)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in rows:
            parts.append(f'<circle cx="{x(r["nodes"]):.1f}" cy="{y(r[key]):.1f}" r="3" fill="{colour}"/>')
        ly = top + 20 if key == "first_converge_s" else top + 40
        legend = width - right + 15
        parts.append(f'<line x1="{legend}" y1="{ly}" x2="{legend + 20}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{legend + 25}" y="{ly + 4}">{label}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1,4,8,16")
    parser.add_argument("--rounds", type=int, default=3, help="no-op re-runs per count; the median is reported")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument(
        "--strategy",
        choices=("linear", "mitogen"),
        default="linear",
        help="linear (Ansible's own) or mitogen (mitogen_linear from the mitogen package)",
    )
    parser.add_argument(
        "--connection",
        help="how Ansible reaches the node containers: community.docker.docker (the docker CLI per command; "
        "the default with --strategy linear), community.docker.docker_api (the engine's API, no CLI process) "
        "or docker (the default with --strategy mitogen, which takes that connection over)",
    )
    parser.add_argument("--name", default="scale", help="results file stem (bench/results/<name>.md)")
    args = parser.parse_args()
    if args.connection is None:
        args.connection = "docker" if args.strategy == "mitogen" else "community.docker.docker"
    strategy_env(args.strategy)  # mitogen missing fails here, before any container starts
    image = lab_env()["NODE_IMAGE"]
    work = Path(tempfile.mkdtemp(prefix="edgeai-scale-"))
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        print(f"bench: {count} node(s): starting containers", flush=True)
        names = start_nodes(image, count)
        try:
            inventory = work / f"hosts-{count}.yml"
            hosts = {n: None for n in names}
            inventory.write_text(
                yaml.safe_dump(
                    {
                        "all": {
                            "vars": {
                                "ansible_connection": args.connection,
                                "ansible_python_interpreter": "/usr/bin/python3",
                            },
                            "hosts": hosts,
                        }
                    }
                )
            )
            first, recap = converge(inventory, work / f"first-{count}.log", args.strategy)
            assert len(recap) == count and all(r[2] == 0 and r[3] == 0 for r in recap.values()), recap
            noops = []
            cpu = []
            for round_no in range(args.rounds):
                busy = busy_cpu_seconds()
                seconds, recap = converge(inventory, work / f"noop-{count}-{round_no}.log", args.strategy)
                cpu.append(busy_cpu_seconds() - busy)
                changed = {h: r[1] for h, r in recap.items() if r[1]}
                if changed:
                    raise RuntimeError(f"no-op re-run on {count} nodes changed something: {changed}")
                noops.append(seconds)
            tasks = max(r[0] + r[4] for r in recap.values())
            noop = statistics.median(noops)
            rows.append(
                {
                    "nodes": count,
                    "first_converge_s": round(first, 2),
                    "noop_rerun_s": round(noop, 2),
                    "noop_runs_s": [round(s, 2) for s in noops],
                    "tasks_per_host": tasks,
                    "per_task_ms": round(noop / tasks * 1000, 1),
                    # machine CPU seconds of the median no-op run, and per task per host
                    "noop_cpu_s": round(statistics.median(cpu), 1),
                    "cpu_ms_per_host_task": round(statistics.median(cpu) / (tasks * count) * 1000),
                }
            )
            print(
                f"bench: {count} node(s), strategy {args.strategy}: first {first:.1f}s, no-op {noop:.1f}s "
                f"({tasks} tasks/host)",
                flush=True,
            )
        finally:
            for name in names:
                docker("rm", "-f", name, check=False)

    base = rows[0]["noop_rerun_s"]
    for row in rows:
        row["noop_ratio_to_1"] = round(row["noop_rerun_s"] / base, 2)
    if args.strategy == "mitogen":
        import mitogen  # only this variant needs mitogen

        strategy = "mitogen_linear (mitogen " + ".".join(str(v) for v in mitogen.__version__) + ")"
        pipelining = "n/a under mitogen (one Python per host over one docker exec; modules run in it)"
    else:
        strategy = "linear"
        pipelining = "ansible.cfg pipelining=true (modules run through docker exec with stdin)"
    reproduce = ".venv/bin/python -m bench.scale_bench" + (
        f" --strategy {args.strategy} --name {args.name}" if args.strategy != "linear" else ""
    )
    meta = {
        "playbook": "bench/scale-site.yml (node_base, nfs_client)",
        "forks": FORKS,
        "connection": args.connection,
        "pipelining": pipelining,
        "strategy": strategy,
        "facts": "gathered every run (gathering=smart, no fact cache)",
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": args.rounds,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [
        "# Scale benchmark",
        "",
        f"{meta['playbook']}; connection {meta['connection']}; forks {FORKS}; {meta['pipelining']}; "
        f"strategy {meta['strategy']}; "
        f"facts {meta['facts']}; {meta['cpus']} CPUs; {meta['when']}. Reproduce: `make bench` "
        f"(or `{reproduce}`).",
        "",
        "| nodes | first converge s | no-op re-run s (median) | no-op ratio to 1 node | tasks per host "
        "| no-op s per task | no-op CPU s (machine) | CPU ms per host and task |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['nodes']} | {r['first_converge_s']:.1f} | {r['noop_rerun_s']:.1f} | {r['noop_ratio_to_1']:.2f} | "
            f"{r['tasks_per_host']} | {r['per_task_ms'] / 1000:.2f} | {r['noop_cpu_s']:.1f} | "
            f"{r['cpu_ms_per_host_task']} |"
        )
    (args.out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    svg_plot(rows, REPO_ROOT / "docs" / f"{args.name}.svg")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
