#!/usr/bin/env python3
"""bench/offsite's measurements (see run): the off-host push against `rclone copy` by hand,
and a restore from an off-host-only target against the download by hand plus the same
restore. Rounds alternate the sides, after one warm-up of each, so a machine that drifts
moves both. Peak RSS is VmHWM of rollback's own process, sampled while it runs.
Usage: measure.py RUNS WORK IMAGE VOLUME"""
import glob, os, shutil, statistics, subprocess, sys, time

runs, work, image, volume = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
backups = f"{work}/backups"
copies = "bench:bench/copies"


# One command timed, with its own peak RSS: the same measure as bench/large_volume's pairs.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "large_volume"))
from pairs import run as timed  # noqa: E402


def rollback(plan, remote, *extra):
    return ["build/rollback", plan, "--plans-dir", "bench/offsite/plans", "--state-dir", f"{work}/state", "-q",
            "--var", f"backups={backups}", "--var", f"helper_image={image}", "--var", f"volume={volume}",
            "--var", f"offsite_remote={remote}", *extra]


def local_targets():
    return sorted(glob.glob(f"{backups}/bench-*"))


def lose_local_copies():
    for entry in os.listdir(backups):
        shutil.rmtree(f"{backups}/{entry}", ignore_errors=True) if os.path.isdir(f"{backups}/{entry}") else None


def keep_newest_local():
    for old in local_targets()[:-1]:
        shutil.rmtree(old)


def push_round(i):
    with_offsite, rss = timed(rollback("backup", copies))
    without, _ = timed(rollback("backup", ""))
    by_hand, _ = timed(["rclone", "copy", "--", local_targets()[-1], f"bench:bench/byhand/{i}"])
    keep_newest_local()
    subprocess.run(["rclone", "purge", "--", "bench:bench/byhand"], check=True, capture_output=True)
    return with_offsite, without, by_hand, rss


def restore_round():
    newest = sorted(subprocess.run(["rclone", "lsf", "--dirs-only", "--", copies], check=True, capture_output=True,
                                   text=True).stdout.split())[-1].rstrip("/")
    lose_local_copies()
    from_offsite, rss = timed(rollback("restore", copies, "--target", "latest", "--yes"))
    lose_local_copies()
    by_hand, _ = timed(["sh", "-c", 'rclone copy --exclude /.rollback-offsite.json -- "$1" "$2" && shift 2 && "$@"', "-",
                        f"{copies}/{newest}", f"{backups}/{newest}",
                        *rollback("restore", "", "--target", "latest", "--yes")])
    return from_offsite, by_hand, rss


def line(label_a, a, label_b, b, ratio, peak):
    print(f"{label_a:<36} {a:7.2f} s   {label_b:<40} {b:7.2f} s   ratio {ratio:.2f}   peak RSS {peak / 1024:.0f} MiB")


push_round("warm-up")
pushes = [push_round(i) for i in range(runs)]
with_offsite = statistics.median(p[0] for p in pushes)
without = statistics.median(p[1] for p in pushes)
by_hand = statistics.median(p[2] for p in pushes)
size = sum(os.path.getsize(f) for f in glob.glob(f"{local_targets()[-1]}/*"))
print(f"bench/offsite: {time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores, target folder "
      f"{size / 1048576:.0f} MiB, S3 (s3rver) on loopback, {runs} runs each")
print(f"{'rollback backup with offsite:':<36} {with_offsite:7.2f} s   {'the same backup without':<40} {without:7.2f} s")
line("push (the difference)", with_offsite - without, "rclone copy by hand", by_hand, (with_offsite - without) / by_hand,
     max(p[3] for p in pushes))

restore_round()
restores = [restore_round() for _ in range(runs)]
ratios = [a / b for a, b, _ in restores]
line("restore from off-host (rollback)", statistics.median(r[0] for r in restores),
     "rclone copy + the same restore by hand", statistics.median(r[1] for r in restores),
     statistics.median(ratios), max(r[2] for r in restores))
