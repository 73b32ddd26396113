"""Site no-op benchmark: site.yml re-run on the converged lab site, with nothing to change.

The lab's site (inventories/lab: the MinIO and Triton site nodes and the lab cluster) is
converged first when it is not (a site.yml that may change things, not timed); then site.yml
is re-run ``--rounds`` times under each setting side by side, and every re-run must report
changed=0:

- ``pipelining on``: the repository's ansible.cfg (``pipelining = true`` in [defaults], which
  every connection plugin reads: modules go over the docker connection's stdin);
- ``pipelining off``: the same with ANSIBLE_PIPELINING=false, what ansible.cfg did before
  (its ``[ssh_connection] pipelining`` reached only ssh, so each module was copied to the node
  as a file first, the figure of 85 s the structure issue measured).

Reported: wall seconds (median), tasks per run, the machine's busy CPU seconds (controller,
Docker and the node containers) and the controller's own CPU (ansible-playbook and its
children). The target is a no-op of at most 40 s. Results: bench/results/site-noop.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

from bench.scale_bench import busy_cpu_seconds
from tests.integration import labsite
from tests.labenv import REPO_ROOT
from tests.support import ansible

TARGET_S = 40.0
BEFORE_S = 85.0  # the structure issue's figure for the same no-op, before pipelining reached docker
SETTINGS = {"pipelining on": {}, "pipelining off": {"ANSIBLE_PIPELINING": "false"}}


def site_yml(extra_env: dict[str, str]) -> tuple[float, float, dict[str, tuple[int, ...]], str]:
    """(wall s, controller CPU s, recap, output) of one site.yml on the lab site."""
    env = {**labsite.site_env(), **extra_env}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = ansible.run_playbook([*labsite.SITE_INVENTORY, "playbooks/site.yml"], env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"site.yml failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    recap = ansible.recap(proc.stdout)
    return wall, cpu, recap, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="no-op re-runs per setting; the median is reported")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    args = parser.parse_args()
    print("bench: site.yml once, to start from the converged site", flush=True)
    site_yml({})
    rows = []
    for label, extra in SETTINGS.items():
        walls, cpus, machine = [], [], []
        for _round in range(args.rounds):
            busy = busy_cpu_seconds()
            wall, cpu, recap, _output = site_yml(extra)
            machine.append(busy_cpu_seconds() - busy)
            changed = {h: r[1] for h, r in recap.items() if r[1]}
            if changed:
                raise RuntimeError(f"the no-op site.yml ({label}) changed something: {changed}")
            walls.append(wall)
            print(f"bench: site no-op, {label}: {wall:.1f} s", flush=True)
            cpus.append(cpu)
        tasks = sum(r[0] + r[4] for r in recap.values())  # ok + skipped
        row = {
            "setting": label,
            "noop_s": round(statistics.median(walls), 1),
            "runs_s": [round(w, 1) for w in walls],
            "tasks": tasks,
            "hosts": len(recap),
            "controller_cpu_s": round(statistics.median(cpus), 1),
            "machine_cpu_s": round(statistics.median(machine), 1),
        }
        row["controller_cpu_ms_per_task"] = round(row["controller_cpu_s"] / tasks * 1000)
        rows.append(row)
        print(f"bench: site no-op, {label}: {row['noop_s']} s ({tasks} host-tasks)", flush=True)
    on, off = rows
    meta = {
        "playbook": "playbooks/site.yml on inventories/lab (2 site nodes and the lab cluster from localhost)",
        "connection": "community.docker.docker",
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": args.rounds,
        "target_s": TARGET_S,
        "before_s": BEFORE_S,
        "speedup_on_vs_off": round(off["noop_s"] / on["noop_s"], 2),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "site-noop.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [
        "# Site no-op benchmark",
        "",
        f"{meta['playbook']}; connection {meta['connection']}; {meta['cpus']} CPUs; {meta['when']}; median of "
        f"{args.rounds} re-runs, each changed=0. Target: at most {TARGET_S:.0f} s (the structure issue measured "
        f"{BEFORE_S:.0f} s). Reproduce: `make bench` (or `.venv/bin/python -m bench.site_bench`).",
        "",
        "| setting | no-op s (median) | runs s | host-tasks | controller CPU s | controller CPU ms per host-task "
        "| machine CPU s |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {r['noop_s']} | {', '.join(map(str, r['runs_s']))} | {r['tasks']} | "
            f"{r['controller_cpu_s']} | {r['controller_cpu_ms_per_task']} | {r['machine_cpu_s']} |"
        )
    lines += ["", f"Pipelining on is {meta['speedup_on_vs_off']}x the speed of pipelining off.", ""]
    (args.out / "site-noop.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if on["noop_s"] <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
