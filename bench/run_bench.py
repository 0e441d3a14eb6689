"""Time agentiam's whole AWS pipeline against the anchors in DESIGN.md, optionally beside Cloudsplaining.

For each estate size it generates an authorization-details export, then runs the whole pipeline as one process,
as a scheduled job would: `agentiam --db DB scan --offline FILE --output-dir OUT --report-format html ...`
(import, all rules, and the HTML, CSV and JSON reports). Wall time and peak RSS are measured by a small wrapper
process (see WRAPPER).

    python bench/run_bench.py
    python bench/run_bench.py --sizes 2000 --agentiam .venv/bin/agentiam \\
        --cloudsplaining /tmp/cs-venv/bin/cloudsplaining
"""

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import generate_authz_details as generator

# agentiam exit codes that still mean "the work was done": ok, and partial scan (DESIGN.md, CLI contract).
RAN_CODES = (0, 3)
LINEAR_SLACK = 1.1  # 5x the estate may cost at most 5.5x the time

# A process's peak RSS starts at its spawner's: Linux carries the old memory's high-water mark across exec.
# This benchmark holds whole exports in memory, so a small interpreter (-I -S, about 10 MB) spawns and waits
# for each measured command, and writes "exit-code seconds peak-KiB" to the file named by its first argument.
WRAPPER = """
import os, sys, time
result, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as error:
    sys.exit(f"cannot start {argv[0]}: {error}")
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(result, "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {seconds} {usage.ru_maxrss}")
"""


@dataclass(frozen=True)
class Anchor:
    """DESIGN.md "Performance targets": Cloudsplaining 0.9.1 on this 2-core machine, and our targets."""

    cloudsplaining_s: float
    cloudsplaining_mb: float
    target_s: float
    target_mb: float | None


ANCHORS = {
    2_000: Anchor(cloudsplaining_s=39, cloudsplaining_mb=528, target_s=3, target_mb=None),
    10_000: Anchor(cloudsplaining_s=250, cloudsplaining_mb=2200, target_s=10, target_mb=600),
}


@dataclass(frozen=True)
class Run:
    """One child process. `status` is None when it could not be started at all."""

    label: str
    argv: list[str]
    seconds: float
    peak_mb: float
    status: int | None
    log: Path


@dataclass(frozen=True)
class Pipeline:
    runs: list[Run]

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return max((r.peak_mb for r in self.runs), default=0.0)

    def ran(self, codes: tuple[int, ...]) -> bool:
        return bool(self.runs) and all(r.status in codes for r in self.runs)


def measure(label: str, argv: list[str], log: Path) -> Run:
    """Run argv under WRAPPER, with its stdout and stderr in `log`."""
    result = log.with_suffix(".rusage")
    result.unlink(missing_ok=True)
    with log.open("wb") as out:
        wrapper = [sys.executable, "-I", "-S", "-c", WRAPPER, str(result), *argv]
        subprocess.run(wrapper, stdout=out, stderr=out, check=False)
    if not result.exists():
        return Run(label, argv, 0.0, 0.0, None, log)
    status, seconds, peak_kb = result.read_text().split()
    return Run(label, argv, float(seconds), int(peak_kb) / 1024, int(status), log)


def agentiam_pipeline(agentiam: str, export: Path, work: Path) -> Pipeline:
    db = work / "agentiam.db"
    for stale in work.glob("agentiam.db*"):  # -wal and -shm too: every repeat starts from an empty inventory
        stale.unlink()
    argv = [agentiam, "--db", str(db), "scan", "--offline", str(export), "--output-dir", str(work / "reports")]
    # The reports of DESIGN.md's anchor (Cloudsplaining writes an HTML report and JSON results).
    argv += ["--report-format", "html", "--report-format", "csv", "--report-format", "json"]
    return Pipeline([measure("scan + reports", argv, work / "scan.log")])


def cloudsplaining_pipeline(cloudsplaining: str, export: Path, work: Path) -> Pipeline:
    out = work / "cloudsplaining"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()  # its --output must already exist
    argv = [cloudsplaining, "scan", "--input-file", str(export), "--output", str(out), "--skip-open-report"]
    return Pipeline([measure("cloudsplaining scan", argv, work / "cloudsplaining.log")])


def fastest(runs: list[Pipeline], codes: tuple[int, ...]) -> Pipeline:
    """The fastest complete repeat; a failed one is kept only when nothing ran, so its log is reported."""
    complete = [p for p in runs if p.ran(codes)]
    return min(complete, key=lambda p: p.seconds) if complete else runs[-1]


def export_for(size: int, seed: int, work: Path) -> Path:
    path = work / f"authz-{size}-seed{seed}.json"
    if not path.exists():  # a kept --workdir reuses earlier exports; they are deterministic per seed
        started = time.perf_counter()
        export = generator.generate(size, seed, generator.ACCOUNT, generator.AS_OF)
        written = generator.write(export, path, indent=None)
        print(
            f"generated {path.name}: {written / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return path


def failure_note(pipeline: Pipeline, codes: tuple[int, ...]) -> str:
    failed = next(r for r in pipeline.runs if r.status not in codes)
    tail = failed.log.read_text(errors="replace").strip().splitlines()[-3:]
    lines = [f"  FAILED {failed.label} (exit {failed.status}): {' '.join(failed.argv)}", *tail]
    return "\n    ".join(lines)


def verdict(value: float, limit: float | None) -> str:
    if limit is None:
        return "-"
    return "ok" if value <= limit else "MISSED"


def describe_ours(ours: Pipeline, anchor: Anchor | None) -> list[str]:
    lines = [f"  {run.label:<20} {run.seconds:8.2f} s {run.peak_mb:8.0f} MB   exit {run.status}" for run in ours.runs]
    lines.append(f"  {'agentiam total':<20} {ours.seconds:8.2f} s {ours.peak_mb:8.0f} MB")
    if anchor:
        target = f"  target   <= {anchor.target_s:g} s: {verdict(ours.seconds, anchor.target_s)}"
        if anchor.target_mb is not None:
            target += f"; <= {anchor.target_mb:g} MB: {verdict(ours.peak_mb, anchor.target_mb)}"
        lines.append(target)
        lines.append(
            f"  anchor   Cloudsplaining 0.9.1 (DESIGN.md) {anchor.cloudsplaining_s:g} s, "
            f"{anchor.cloudsplaining_mb:g} MB -> agentiam is {anchor.cloudsplaining_s / ours.seconds:.1f}x "
            f"faster, {anchor.cloudsplaining_mb / ours.peak_mb:.1f}x less memory"
        )
    return lines


def describe_theirs(theirs: Pipeline, ours: Pipeline) -> list[str]:
    if not theirs.ran((0,)):
        return [failure_note(theirs, (0,))]
    line = f"  measured Cloudsplaining {theirs.seconds:.1f} s, {theirs.peak_mb:.0f} MB"
    if ours.ran(RAN_CODES):
        line += (
            f" -> agentiam is {theirs.seconds / ours.seconds:.1f}x faster, "
            f"{theirs.peak_mb / ours.peak_mb:.1f}x less memory"
        )
    return [line]


def describe(size: int, ours: Pipeline, theirs: Pipeline | None) -> list[str]:
    lines = [f"{size:,} roles"]
    if ours.ran(RAN_CODES):
        lines += describe_ours(ours, ANCHORS.get(size))
    else:
        lines.append(failure_note(ours, RAN_CODES))
    if theirs is not None:
        lines += describe_theirs(theirs, ours)
    return lines


def growth(results: dict[int, Pipeline]) -> list[str]:
    """Each consecutive pair of sizes: the time ratio may be at most LINEAR_SLACK times the size ratio."""
    sizes = sorted(s for s, p in results.items() if p.ran(RAN_CODES))
    lines = []
    for small, large in itertools.pairwise(sizes):
        grown, allowed = results[large].seconds / results[small].seconds, LINEAR_SLACK * large / small
        lines.append(
            f"growth {small:,} -> {large:,} roles: time x{grown:.2f} (allowed x{allowed:.2f}): "
            f"{verdict(grown, allowed)}"
        )
    return lines


def bench_size(size: int, args: argparse.Namespace, root: Path) -> tuple[Pipeline, Pipeline | None]:
    work = root / str(size)
    work.mkdir(parents=True, exist_ok=True)
    export = export_for(size, args.seed, root)
    ours = fastest([agentiam_pipeline(args.agentiam, export, work) for _ in range(args.repeat)], RAN_CODES)
    if not args.cloudsplaining:
        return ours, None
    runs = range(args.cloudsplaining_repeat)
    return ours, fastest([cloudsplaining_pipeline(args.cloudsplaining, export, work) for _ in runs], (0,))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--agentiam", default="agentiam", help="agentiam executable (default: on PATH)")
    parser.add_argument("--cloudsplaining", help="cloudsplaining executable, to time it on the same files")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="agentiam repeats; the fastest one is reported")
    parser.add_argument("--cloudsplaining-repeat", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep exports, databases, reports and logs here")
    args = parser.parse_args(argv)

    root = args.workdir or Path(tempfile.mkdtemp(prefix="agentiam-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    results: dict[int, Pipeline] = {}
    for size in args.sizes:
        ours, theirs = bench_size(size, args, root)
        results[size] = ours
        print("\n".join(describe(size, ours, theirs)), flush=True)
    for line in growth(results):
        print(line)
    if args.workdir is None:
        shutil.rmtree(root)
    return 0 if all(p.ran(RAN_CODES) for p in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
