"""Upload benchmark: the tools users reach for, side by side, on the lab MinIO.

One generated Triton-shaped repository (a few large files and many small ones)
is published by each tool into its own prefix of one bucket, three times:
cold (empty prefix), no-change re-run, and re-run after a one-byte same-size
edit of one small file. For each run: wall time, bytes the server received
(an iptables accounting chain on the server's port), the tool's peak RSS (GNU time), and, for the
edit, whether the remote object matches the edited file afterwards.

The collection's publisher runs twice over: as an Ansible task
(`ansible -m edgeai.inference.model_repository_sync`, what a playbook pays) and
as a direct client call (bench/publish_client.py, the same code without
Ansible's start-up).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import boto3

from tests.labenv import REPO_ROOT, lab_env, read_env_file
from tests.support import ansible

BUCKET = "bench"
PHASES = ("cold", "no-change", "same-size edit")
PEERS = ("mc cp --recursive", "mc mirror", "aws s3 sync")


@dataclass
class Result:
    tool: str
    phase: str
    seconds: float
    bytes_received: int
    peak_rss_mib: float
    edit_detected: bool | None = None


def generate_repository(root: Path, large_files: int, large_mib: int, small_files: int, small_kib: int) -> None:
    """A model repository: model_a/1/model.bin-N (large) and model_b/1/part-N (small)."""
    rng = os.urandom
    large_dir = root / "model_a" / "1"
    small_dir = root / "model_b" / "1"
    large_dir.mkdir(parents=True)
    small_dir.mkdir(parents=True)
    for model, version_dir in (("model_a", large_dir), ("model_b", small_dir)):
        # valid for Triton (and for the collection's validation): a python-backend model
        (root / model / "config.pbtxt").write_text(f'name: "{model}"\nbackend: "python"\n')
        (version_dir / "model.py").write_text("class TritonPythonModel:\n    pass\n")
    chunk = rng(1024 * 1024)
    for i in range(large_files):
        with open(large_dir / f"weights-{i}.bin", "wb") as handle:
            for j in range(large_mib):
                # distinct content per MiB so no tool can deduplicate
                handle.write(hashlib.sha256(f"{i}-{j}".encode()).digest() + chunk[32:])
    for i in range(small_files):
        (small_dir / f"part-{i:04d}.bin").write_bytes(rng(small_kib * 1024))


class PortCounter:
    """Counts bytes (IP packets, headers included) sent to a loopback TCP port.

    An iptables accounting chain on INPUT; removed on exit. MinIO's own traffic
    metric is updated too lazily to attribute bytes to one run.
    """

    CHAIN = "EDGEAI_BENCH"

    def __init__(self, port: int) -> None:
        self.rule = ["INPUT", "-i", "lo", "-p", "tcp", "--dport", str(port), "-j", self.CHAIN]

    def __enter__(self) -> PortCounter:
        self._ipt("-N", self.CHAIN, check=False)
        self._ipt("-F", self.CHAIN)
        self._ipt("-A", self.CHAIN, "-j", "RETURN")
        self._ipt("-I", *self.rule)
        return self

    def __exit__(self, *exc: object) -> None:
        self._ipt("-D", *self.rule, check=False)
        self._ipt("-F", self.CHAIN, check=False)
        self._ipt("-X", self.CHAIN, check=False)

    def read_and_zero(self) -> int:
        out = self._ipt("-L", self.CHAIN, "-v", "-x", "-n", "-Z").stdout.splitlines()
        return int(out[2].split()[1])  # header, column names, then the RETURN rule

    @staticmethod
    def _ipt(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=check)


def timed(argv: list[str], env: dict[str, str], counter: PortCounter) -> tuple[float, int, float]:
    """Run argv under GNU time; return (seconds, bytes sent to the server, peak RSS MiB)."""
    counter.read_and_zero()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", stats.name, *argv], env=env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        peak_kib = int(stats.read().strip().splitlines()[-1])
    return seconds, counter.read_and_zero(), peak_kib / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large-files", type=int, default=4)
    parser.add_argument("--large-mib", type=int, default=240)
    parser.add_argument("--small-files", type=int, default=500)
    parser.add_argument("--small-kib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="runs of every tool; the table shows medians")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument(
        "--name",
        default="upload",
        help="results file stem (bench/results/<name>.md); make bench also writes upload-small-files: "
        "5,000 files of 1 KiB, where a one-file edit shows what the manifest costs",
    )
    args = parser.parse_args()

    lab = lab_env()
    creds = read_env_file(lab["MINIO_ROOT_CREDENTIALS"])
    endpoint = lab["MINIO_ENDPOINT"]  # plain: the server's metrics and every tool on equal terms
    port = int(endpoint.rsplit(":", 1)[1])
    work = Path(tempfile.mkdtemp(prefix="edgeai-bench-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        repo = work / "repo"
        print(f"bench: generating repository in {repo}", flush=True)
        generate_repository(repo, args.large_files, args.large_mib, args.small_files, args.small_kib)
        total = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
        nfiles = sum(1 for p in repo.rglob("*") if p.is_file())

        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=creds["MINIO_ROOT_USER"],
            aws_secret_access_key=creds["MINIO_ROOT_PASSWORD"],
            region_name="us-east-1",
        )
        existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        if BUCKET in existing:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
                for obj in page.get("Contents", []):
                    s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        else:
            s3.create_bucket(Bucket=BUCKET)

        # Credentials travel in the environment (and mc's alias env), never in argv.
        host = endpoint.split("://", 1)[1]
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID=creds["MINIO_ROOT_USER"],
            AWS_SECRET_ACCESS_KEY=creds["MINIO_ROOT_PASSWORD"],
            AWS_DEFAULT_REGION="us-east-1",
            MC_CONFIG_DIR=str(work / "mc"),
            MC_HOST_lab=f"http://{creds['MINIO_ROOT_USER']}:{creds['MINIO_ROOT_PASSWORD']}@{host}",
        )
        env["PYTHONPATH"] = f"{REPO_ROOT}:{REPO_ROOT / '.collections'}"
        aws = str(REPO_ROOT / ".venv/bin/aws")
        python = str(REPO_ROOT / ".venv/bin/python")
        mc = lab["MC_BIN"]
        module_args = {"src": str(repo), "bucket": BUCKET, "endpoint_url": endpoint}
        tools = {
            "model_repository_sync (client call)": lambda p: [
                python,
                "-m",
                "bench.publish_client",
                str(repo),
                BUCKET,
                p,
                endpoint,
            ],
            "model_repository_sync (Ansible task)": lambda p: ansible.module_argv(
                "model_repository_sync", {**module_args, "prefix": p}, interpreter=python
            ),
            "mc cp --recursive": lambda p: [mc, "cp", "--recursive", "--quiet", f"{repo}/", f"lab/{BUCKET}/{p}/"],
            "mc mirror": lambda p: [mc, "mirror", "--overwrite", "--quiet", f"{repo}/", f"lab/{BUCKET}/{p}/"],
            "aws s3 sync": lambda p: [
                aws,
                "s3",
                "sync",
                "--only-show-errors",
                "--endpoint-url",
                endpoint,
                f"{repo}/",
                f"s3://{BUCKET}/{p}/",
            ],
        }
        edited = repo / "model_b" / "1" / "part-0007.bin"
        results: list[Result] = []
        counter = stack.enter_context(PortCounter(port))
        # rounds interleave the tools, so a slow moment of the machine does not land on one tool only
        for round_no in range(args.rounds):
            for index, (tool, argv_for) in enumerate(tools.items()):
                prefix = f"r{round_no}-t{index}"
                original = edited.read_bytes()
                for phase in PHASES:
                    if phase == "same-size edit":
                        data = bytearray(original)
                        data[100] ^= 0xFF
                        edited.write_bytes(bytes(data))
                    seconds, sent, rss = timed(argv_for(prefix), env, counter)
                    detected = None
                    if phase == "same-size edit":
                        remote = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/model_b/1/part-0007.bin")["Body"].read()
                        detected = remote == edited.read_bytes()
                        edited.write_bytes(original)
                    results.append(Result(tool, phase, seconds, sent, rss, detected))
                    print(
                        f"bench: round {round_no + 1} {tool:38s} {phase:15s} {seconds:7.2f}s "
                        f"{sent / 2**20:9.1f} MiB sent {rss:7.1f} MiB peak",
                        flush=True,
                    )

        args.out.mkdir(parents=True, exist_ok=True)
        meta = {
            "files": nfiles,
            "bytes": total,
            "cpus": os.cpu_count(),
            "endpoint": "lab MinIO, loopback, plain",
            "rounds": args.rounds,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (args.out / f"{args.name}.json").write_text(
            json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2) + "\n"
        )
        write_table(args.out / f"{args.name}.md", meta, results)
        print((args.out / f"{args.name}.md").read_text())
    return 0


def median_results(results: list[Result]) -> list[Result]:
    """One row per tool and phase: the median run by time (its bytes and memory with it)."""
    rows = []
    for tool in dict.fromkeys(r.tool for r in results):
        for phase in PHASES:
            runs = sorted((r for r in results if r.tool == tool and r.phase == phase), key=lambda r: r.seconds)
            if runs:
                row = runs[(len(runs) - 1) // 2]
                detected = None if row.edit_detected is None else all(r.edit_detected for r in runs)
                rows.append(
                    Result(tool, phase, row.seconds, row.bytes_received, max(r.peak_rss_mib for r in runs), detected)
                )
    return rows


def write_table(path: Path, meta: dict, results: list[Result]) -> None:
    rows = median_results(results)
    fastest_peer = {
        phase: min((r for r in rows if r.phase == phase and r.tool in PEERS), key=lambda r: r.seconds)
        for phase in PHASES
    }
    lines = [
        "# Upload benchmark",
        "",
        f"Repository: {meta['files']} files, {meta['bytes'] / 2**20:.0f} MiB; {meta['endpoint']}; "
        f"{meta['cpus']} CPUs; median of {meta['rounds']} interleaved rounds; {meta['when']}. "
        "Reproduce: `make bench`.",
        "",
        "| tool | phase | seconds | ratio to fastest peer | MiB sent (IP) | peak RSS MiB | edit detected |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        detected = "" if r.edit_detected is None else ("yes" if r.edit_detected else "**no**")
        ratio = r.seconds / fastest_peer[r.phase].seconds
        lines.append(
            f"| {r.tool} | {r.phase} | {r.seconds:.2f} | {ratio:.2f} ({fastest_peer[r.phase].tool}) | "
            f"{r.bytes_received / 2**20:.2f} | {r.peak_rss_mib:.0f} | {detected} |"
        )
    lines += ["", "Targets (the collection's client call):", ""]
    by_key = {(r.tool, r.phase): r for r in rows}
    client = "model_repository_sync (client call)"
    if (client, "cold") in by_key:
        cold = by_key[(client, "cold")].seconds / fastest_peer["cold"].seconds
        same = by_key[(client, "no-change")]
        aws = by_key[("aws s3 sync", "no-change")]
        lines += [
            f"- cold upload ≤ 1.0x the fastest peer: {cold:.2f}x {'(met)' if cold <= 1.0 else '(**not met**)'}",
            f"- no-change re-run ≤ 1.0x `aws s3 sync`: {same.seconds / aws.seconds:.2f}x "
            f"{'(met)' if same.seconds <= aws.seconds else '(**not met**)'}; bytes sent (IP, requests included): "
            f"{same.bytes_received / 2**10:.1f} KiB",
            "- same-size edit detected by: "
            + ", ".join(r.tool for r in rows if r.phase == "same-size edit" and r.edit_detected)
            + "; missed by: "
            + (", ".join(r.tool for r in rows if r.phase == "same-size edit" and not r.edit_detected) or "none"),
        ]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
