#!/usr/bin/env python3
"""Times commands side by side: A and B alternate (A B A B ...) after one warm-up each, so a
machine that drifts moves both. Prints each side's median wall time, the median of the
pairwise ratios A/B, and A's peak resident memory (VmHWM of A's own process, sampled while it
runs: the helpers and the docker CLI it starts are not counted, they are not its memory).
Usage: pairs.py RUNS LABEL_A LABEL_B -- A ARGV... --vs B ARGV...
A or B may be "sh -c '...'"; a command that fails stops the benchmark."""
import statistics, subprocess, sys, time

def run(argv):
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kib = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"pairs.py: {' '.join(argv)} exited {proc.returncode}:\n{err}")
    return wall, peak_kib

def main():
    runs, label_a, label_b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rest = sys.argv[5:]
    split = rest.index("--vs")
    a, b = rest[:split], rest[split + 1:]
    run(a), run(b)  # warm-up: page cache, first-run costs
    wa, wb, peaks = [], [], []
    for _ in range(runs):
        t, peak = run(a)
        wa.append(t), peaks.append(peak)
        wb.append(run(b)[0])
    ratios = [x / y for x, y in zip(wa, wb)]
    ma, mb = statistics.median(wa), statistics.median(wb)
    print(f"{label_a:<34} {ma:7.2f} s   {label_b:<30} {mb:7.2f} s   "
          f"ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})   "
          f"peak RSS {max(peaks) / 1024:.0f} MiB")

if __name__ == "__main__":
    main()
