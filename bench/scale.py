"""Benchmark: how reading, analysing and exporting a capture scale with its size.

Why this exists: a capture of a long evaluation run holds tens of thousands of streams.
``sse-inspect analyze`` and ``export`` read a ``.flow`` flow by flow and should cost little
more than reading it at all (mitmproxy's own reader is the floor: every flow has to be
deserialised), and their memory should not grow with the number of streams. This script
measures both, each command in a process of its own:

1. it builds a capture of ``--streams`` N streams (default 20,000) from a sample:
   ``samples/captured-openai-chat.flow`` (one flow) repeated N times is a valid ``.flow``
   with N flows; and one of N/4;
2. for both sizes it runs, each in a fresh wrapper process (so its peak RSS is that one
   command's): the bare read (``for f in io.FlowReader(fh).stream(): pass``),
   ``sse-inspect analyze --json`` with ``--jobs 1`` and with the default jobs (skipped,
   with a note, when the installed CLI has no ``--jobs``), ``sse-inspect analyze`` (the
   table, as a person runs it: default jobs, ``COLUMNS=160`` as on a wide terminal; rich
   renders the same table into a file, only without colour codes), and ``sse-inspect
   export`` to HAR, JSONL and Markdown, then ``sse-inspect stats --json`` and (with the
   tables extra installed) ``export --format parquet``;
   the bare read and the ``--json`` analyses run ``--repeat`` times (default 3) in turn,
   and the fastest run of each counts (the machine's other load slows runs, never speeds
   them up);
3. it prints, per command and size: wall time, CPU time, peak RSS (the whole process tree,
   sampled from /proc every 20 ms, or the largest process's ``ru_maxrss`` if higher), the
   time against the bare read of the same size, and the RSS at N against N/4; then the
   targets.

Targets: ``analyze --json`` within 1.3x the bare read (with ``--jobs 1``), and under 1x with
the default jobs on a machine of 2 or more cores; the peak RSS at N within 1.3x that at
N/4 (memory does not grow with the streams); every export under 300 MiB at its peak;
``stats --json`` within 1.5x ``analyze --json`` (both with the default jobs).

Run it with ``.venv/bin/python bench/scale.py`` (about 8 minutes at 20,000 streams on 2
cores; 0.4 GB of captures and up to 0.9 GB of export, each deleted after its run, in a
temporary directory or ``--workdir``; ``--streams 500`` is a quick check). It always exits 0:
it is a report, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "captured-openai-chat.flow"
STREAMS = 20_000
SAMPLE_EVERY_S = 0.02
TIMEOUT_S = 3600.0
TARGET_ANALYZE = 1.3
TARGET_ANALYZE_JOBS = 1.0
TARGET_RSS_GROWTH = 1.3
TARGET_EXPORT_MIB = 300.0
TARGET_STATS = 1.5  # stats --json against analyze --json, both with the default jobs (issue 14)
MIB = 1024 * 1024

BARE_READ = """\
import sys
from mitmproxy import io
with open(sys.argv[1], "rb") as fh:
    for f in io.FlowReader(fh).stream():
        pass
"""


# --- the wrapper (runs in a process of its own: ``scale.py --measure -- CMD...``) ------------


def tree_rss(root: int) -> tuple[int, int]:
    """Bytes resident in ``root`` and all its descendants, from /proc (0 if unreadable),
    and how many processes they are."""
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total, len(seen)


def measure(argv: Sequence[str], stdout: str | None) -> dict[str, object]:
    """Run ``argv``; its wall and CPU time, exit status, and peak RSS: the sampled sum over
    its process tree, and the largest single process (``RUSAGE_CHILDREN.ru_maxrss``)."""
    out = open(stdout, "wb") if stdout else None  # noqa: SIM115 -- closed below
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, stdout=out or subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = procs = 0
        while proc.poll() is None:
            rss, n = tree_rss(proc.pid)
            peak, procs = max(peak, rss), max(procs, n)
            time.sleep(SAMPLE_EVERY_S)
        stderr = proc.stderr.read() if proc.stderr else b""
    finally:
        if out is not None:
            out.close()
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "tree_peak": peak,
        "procs": procs,
        "maxrss": usage.ru_maxrss * 1024,  # KiB on Linux
        "status": proc.returncode,
        "stderr": stderr.decode(errors="replace")[-2000:],
    }


# --- the commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]
    """With ``{capture}`` and ``{out}`` to fill in."""
    stdout: bool = False
    """Keep what it prints (in ``{out}``)."""
    out_suffix: str = ""
    env: tuple[tuple[str, str], ...] = ()
    """Set in its environment."""


def bin_path(name: str) -> str:
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise SystemExit(
            f"error: {path} not found; install the project: .venv/bin/pip install -e ."
        )
    return str(path)


def has_jobs(cli: str) -> bool:
    run = subprocess.run([cli, "analyze", "--help"], capture_output=True, text=True, timeout=60)
    return "--jobs" in run.stdout


def commands(jobs: bool) -> list[Command]:
    cli = bin_path("sse-inspect")
    analyze = (cli, "analyze", "--json", "{capture}")
    out = [
        Command("bare read (mitmproxy FlowReader)", (sys.executable, "-c", BARE_READ, "{capture}")),
        Command(
            "analyze --json --jobs 1" if jobs else "analyze --json",
            (*analyze, *(("--jobs", "1") if jobs else ())),
            stdout=True,
            out_suffix=".json",
        ),
    ]
    if jobs:
        out.append(Command("analyze --json (default jobs)", analyze, True, ".json"))
    if has_command(cli, "stats"):  # beside the analyze it is held against: the machine drifts
        out.append(Command("stats --json", (cli, "stats", "--json", "{capture}"), True, ".stats"))
    table = (cli, "analyze", "{capture}")
    out.append(Command("analyze (table)", table, True, ".txt", env=(("COLUMNS", "160"),)))
    for fmt in ("har", "jsonl", "md"):
        out.append(
            Command(
                f"export --format {fmt}",
                (cli, "export", "{capture}", "-o", "{out}", "--format", fmt),
                out_suffix=f".{fmt}",
            )
        )
    if has_tables():
        argv = (cli, "export", "{capture}", "-o", "{out}", "--format", "parquet")
        out.append(Command("export --format parquet", argv, out_suffix=".tables"))
    return out


def has_command(cli: str, name: str) -> bool:
    """Whether the installed CLI has this command (older ones lack stats)."""
    run = subprocess.run([cli, name, "--help"], capture_output=True, text=True, timeout=60)
    return run.returncode == 0


def has_tables() -> bool:
    """Whether the tables extra (pyarrow) is installed, for the Parquet export."""
    run = subprocess.run([sys.executable, "-c", "import pyarrow"], capture_output=True)
    return run.returncode == 0


@dataclass
class Row:
    command: Command
    streams: int
    wall: float
    cpu: float
    rss: int
    procs: int
    status: int
    note: str = ""


def run_one(command: Command, capture: Path, streams: int, workdir: Path) -> Row:
    out = workdir / f"out-{streams}{command.out_suffix}"
    out.unlink(missing_ok=True)
    argv = [a.format(capture=capture, out=out) for a in command.argv]
    wrapper = [sys.executable, __file__, "--measure"]
    if command.stdout:
        wrapper += ["--stdout", str(out)]
    env = {**os.environ, **dict(command.env)}
    run = subprocess.run(
        [*wrapper, "--", *argv], capture_output=True, text=True, timeout=TIMEOUT_S, env=env
    )
    try:
        m = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit(f"error: the wrapper failed: {run.stderr.strip()[-500:]}") from None
    rss = max(m["tree_peak"], m["maxrss"])
    row = Row(command, streams, m["wall"], m["cpu"], rss, max(1, m["procs"]), m["status"])
    if row.status != 0:
        row.note = f"exit status {row.status}: {m['stderr'].strip().splitlines()[-1:]}"
    elif command.out_suffix == ".json":
        row.note = check_analysis(out, streams)
    elif command.out_suffix == ".txt":
        row.note = check_table(out, streams)
    elif command.out_suffix == ".stats":
        row.note = check_stats(out, streams)
    elif out.is_dir():
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        row.note = f"{size / MIB:,.1f} MiB written"
    elif out.exists():
        row.note = f"{out.stat().st_size / MIB:,.1f} MiB written"
    if out.is_dir():
        shutil.rmtree(out)
    out.unlink(missing_ok=True)
    return row


def check_stats(out: Path, streams: int) -> str:
    """Whether ``stats --json`` counted every stream in its groups."""
    try:
        found = sum(g["streams"] for g in json.loads(out.read_bytes())["groups"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"!! cannot read its JSON: {type(e).__name__}"
    return f"{found:,} streams" if found == streams else f"!! {found:,} of {streams:,} streams"


def check_analysis(out: Path, streams: int) -> str:
    """Whether ``analyze --json`` reported every stream."""
    try:
        found = len(json.loads(out.read_bytes())["streams"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"!! cannot read its JSON: {type(e).__name__}"
    return f"{found:,} streams" if found == streams else f"!! {found:,} of {streams:,} streams"


def check_table(out: Path, streams: int) -> str:
    """Whether the ``analyze`` table has a row for every stream, under one header."""
    try:
        lines = out.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as e:
        return f"!! cannot read its table: {type(e).__name__}"
    rows = sum(1 for line in lines if re.match(r" *\d+  ", line))
    headers = sum(1 for line in lines if re.match(r" *#  ", line))
    if headers != 1:
        return f"!! {headers} table headers"
    return f"{rows:,} rows" if rows == streams else f"!! {rows:,} rows for {streams:,} streams"


# --- the report -----------------------------------------------------------------------------


def build(sample: bytes, streams: int, path: Path) -> None:
    with path.open("wb") as f:
        for _ in range(streams):
            f.write(sample)


def print_header(streams: int, sample: Path, size: int, jobs: bool) -> None:
    import mitmproxy.version

    print("sse-inspect scale benchmark")
    print(f"Python {platform.python_version()} on {platform.platform(terse=True)}")
    print(f"mitmproxy {mitmproxy.version.VERSION}")
    print(f"CPUs: {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))})")
    print(
        f"captures: {sample.name} ({size:,} bytes, one flow) repeated {streams // 4:,} and "
        f"{streams:,} times ({size * streams // 4 / MIB:,.1f} and {size * streams / MIB:,.1f} MiB)"
    )
    print(
        "each command in a fresh wrapper process; procs = the most processes it ran at once,\n"
        "RSS = the peak resident memory of them all; times include each process's start-up\n"
        "(about 0.5 s: at small sizes it weighs on the ratios)"
    )
    if not jobs:
        print("note: this sse-inspect has no analyze --jobs: the default-jobs row is skipped")
    print()


def print_table(rows: list[Row], sizes: tuple[int, int]) -> None:
    small, large = sizes
    width = max(len(r.command.name) for r in rows) + 2
    head = f"  {'command':<{width}}{'streams':>8}{'wall s':>9}{'cpu s':>8}{'procs':>6}"
    head += f"{'RSS MiB':>9}"
    print(head + f"{'x bare':>8}{'RSS N/(N/4)':>13}   notes")
    print("  " + "-" * (len(head) + 40))
    bare = {r.streams: r.wall for r in rows if r.command.name.startswith("bare")}
    by = {(r.command.name, r.streams): r for r in rows}
    for r in rows:
        ratio = r.wall / bare[r.streams] if bare.get(r.streams) else float("nan")
        growth = ""
        if r.streams == large and (r.command.name, small) in by:
            other = by[(r.command.name, small)]
            growth = f"{r.rss / other.rss:.2f}x" + ("*" if other.procs != r.procs else "")
        print(
            f"  {r.command.name:<{width}}{r.streams:>8,}{r.wall:>9.2f}{r.cpu:>8.2f}"
            f"{r.procs:>6}{r.rss / MIB:>9.1f}{ratio:>7.2f}x{growth:>13}   {r.note}"
        )
    if any(r.procs != by[(r.command.name, small)].procs for r in rows if r.streams == large):
        print("  * not comparable: a different number of processes at N/4 and at N")
    print()


def print_targets(rows: list[Row], sizes: tuple[int, int], jobs: bool) -> None:
    small, large = sizes
    by = {(r.command.name, r.streams): r for r in rows}
    bare = by[(rows[0].command.name, large)]
    cpus = len(os.sched_getaffinity(0))

    def verdict(ok: bool) -> str:
        return "holds" if ok else "DOES NOT hold"

    print(f"targets (at {large:,} streams):")
    one = next(r for r in rows if r.command.name.startswith("analyze") and r.streams == large)
    ratio = one.wall / bare.wall
    print(
        f"  {one.command.name} <= {TARGET_ANALYZE}x the bare read: "
        f"{verdict(ratio <= TARGET_ANALYZE)} ({ratio:.2f}x)"
    )
    if jobs:
        default = by[("analyze --json (default jobs)", large)]
        ratio = default.wall / bare.wall
        if cpus >= 2:
            one_process = (
                "; it ran in one process (a file too small for workers?)"
                if default.procs == 1
                else ""
            )
            print(
                f"  analyze --json (default jobs, {cpus} CPUs) < {TARGET_ANALYZE_JOBS:g}x the "
                f"bare read: {verdict(ratio < TARGET_ANALYZE_JOBS)} ({ratio:.2f}x{one_process})"
            )
        else:
            print(f"  analyze --json (default jobs): only {cpus} CPU, no target ({ratio:.2f}x)")
    else:
        print("  analyze --json (default jobs): skipped (no --jobs in this sse-inspect)")
    stats = by.get(("stats --json", large))
    if stats is not None and jobs:
        base = by[("analyze --json (default jobs)", large)]
        ratio = stats.wall / base.wall
        print(
            f"  stats --json <= {TARGET_STATS}x analyze --json (both default jobs): "
            f"{verdict(ratio <= TARGET_STATS)} ({ratio:.2f}x)"
        )
    growths, skipped = [], []
    for r in rows:
        other = by.get((r.command.name, small))
        if r.streams != large or other is None:
            continue
        if other.procs != r.procs:
            skipped.append(r.command.name)
        else:
            growths.append((r.rss / other.rss, r.command.name))
    worst = max(growths)
    also = f"; left out, as not comparable: {', '.join(skipped)}" if skipped else ""
    print(
        f"  RSS at N <= {TARGET_RSS_GROWTH}x RSS at N/4, every command: "
        f"{verdict(worst[0] <= TARGET_RSS_GROWTH)} (worst {worst[0]:.2f}x, {worst[1]}{also})"
    )
    exports = [r for r in rows if r.command.name.startswith("export")]
    top = max(exports, key=lambda r: r.rss)
    ok = top.rss < TARGET_EXPORT_MIB * MIB
    print(
        f"  export peak RSS < {TARGET_EXPORT_MIB:g} MiB: {verdict(ok)} "
        f"(highest {top.rss / MIB:.1f} MiB, {top.command.name} at {top.streams:,})"
    )
    failed = [r for r in rows if r.status != 0 or r.note.startswith("!!")]
    if failed:
        print(f"  !! {len(failed)} run(s) failed or lost streams: see the notes above")


TIMED = ("bare read", "analyze --json", "stats --json")
"""The commands whose time is a target (against the bare read, or analyze --json)."""


def best_of(runs: list[Row]) -> Row:
    """The fastest of a command's runs, with the highest peak RSS of them all and a note
    of how many runs there were."""
    best = min(runs, key=lambda r: r.wall)
    rss = max(r.rss for r in runs)
    note = best.note if len(runs) == 1 else f"{best.note}; best of {len(runs)}".lstrip("; ")
    failed = next((r for r in runs if r.status != 0 or r.note.startswith("!!")), None)
    if failed is not None:
        return failed
    return Row(best.command, best.streams, best.wall, best.cpu, rss, best.procs, 0, note)


def progress(r: Row) -> None:
    if sys.stderr.isatty():  # on a terminal only
        print(f"  ran {r.command.name} on {r.streams:,}: {r.wall:.2f} s", file=sys.stderr)


def run(args: argparse.Namespace, workdir: Path) -> None:
    sample = args.sample.read_bytes()
    jobs = has_jobs(bin_path("sse-inspect"))
    sizes = (max(1, args.streams // 4), args.streams)
    print_header(args.streams, args.sample, len(sample), jobs)
    sys.stdout.flush()
    captures = {}
    for n in sizes:
        captures[n] = workdir / f"capture-{n}.flow"
        build(sample, n, captures[n])
    rows, cmds = [], commands(jobs)
    timed = [c for c in cmds if c.name.startswith(TIMED)]
    # Size by size: first the commands whose time is a target, --repeat times in turn (the
    # best of each is kept, as timeit does: what the machine's other load did not slow
    # down), then the others once. Each ratio is to a bare read of a minute or two before at
    # most (this machine's speed drifts by up to half over a few minutes).
    for n in sizes:
        runs: dict[str, list[Row]] = {}
        for _ in range(args.repeat):
            for command in timed:
                runs.setdefault(command.name, []).append(run_one(command, captures[n], n, workdir))
                progress(runs[command.name][-1])
        for command in cmds:
            if command.name in runs:
                rows.append(best_of(runs[command.name]))
            else:
                rows.append(run_one(command, captures[n], n, workdir))
                progress(rows[-1])
    order = {c.name: i for i, c in enumerate(cmds)}
    rows.sort(key=lambda r: (order[r.command.name], r.streams))
    print_table(rows, sizes)
    print_targets(rows, sizes, jobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=STREAMS, help="streams in the large one")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="a one-flow capture")
    parser.add_argument("--workdir", type=Path, help="where the captures go (default: a temp dir)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each timed command (bare read, analyze --json, stats --json), in turn; "
        "the best is kept (default 3)",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stdout", help=argparse.SUPPRESS)
    parser.add_argument("cmd", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.cmd, args.stdout)))
        return 0
    t0 = time.monotonic()
    try:
        if args.workdir is not None:
            args.workdir.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="sse-inspect-scale-", dir=args.workdir))
        else:
            work = Path(tempfile.mkdtemp(prefix="sse-inspect-scale-"))
        try:
            run(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except Exception as e:
        print(f"error: the benchmark failed: {type(e).__name__}: {e}")
    print(f"\ntotal: {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
