#!/usr/bin/env python3
"""Fills a folder with GB gibibytes of database-like data, in 64 MiB files over eight
folders: 24 files in 25 hold appointment rows (ids, patients, timestamps, amounts,
statuses) in 8 KiB pages with free space, as PostgreSQL keeps them; one in 25 is an
incompressible blob (uploads). zstd -1 and gzip each make about a sixth of it: the
mix the issue measured (2.3 GB of database-like text and blobs).
Usage: fill.py DIR GB"""
import os, random, sys

root, gib = sys.argv[1], float(sys.argv[2])
total = int(gib * (1 << 30))
rng = random.Random(20250127)
names = ["ana", "luis", "marta", "jorge", "sofia", "pablo", "lucia", "diego", "elena", "raul"]
states = ["pending", "confirmed", "cancelled", "done", "no-show"]

prices = [f"{p:.2f}" for p in (25, 30, 35, 40, 45, 50, 60, 75, 80, 90, 120, 150)]
# Appointments come back to the same patients: a name and a clinic per patient.
patients = [f"{rng.choice(names)} {rng.choice(names).title()}\tclinic-{rng.randint(1, 40)}" for _ in range(2000)]

def text_chunk(size):
    """8 KiB pages as a database keeps them: rows in time order, then the page's free space
    (zeros), as PostgreSQL's heap files leave room for updates."""
    pages, n, i = [], 0, rng.randrange(1 << 20)
    while n < size:
        rows, used = [], 0
        while used < 8192 * 0.7:
            i += 1
            patient = rng.randrange(len(patients))
            row = (f"{i}\t{patient}\t{patients[patient]}\t"
                   f"2025-01-{i // 4000 % 28 + 1:02d} {i // 200 % 12 + 8:02d}:{i % 4 * 15:02d}\t"
                   f"{rng.choice(prices)}\t{rng.choice(states)}\n")
            rows.append(row)
            used += len(row)
        page = "".join(rows).encode()[:8192]
        pages.append(page + bytes(8192 - len(page)))
        n += 8192
    return b"".join(pages)[:size]


# Eight distinct 4 MiB text chunks, tiled in a shuffled order: a repeat is at least 4 MiB
# back, beyond both gzip's 32 KiB window and zstd -1's 512 KiB one, so neither sees it.
pieces = [text_chunk(4 << 20) for _ in range(8)]
chunks = [b"".join(pieces[rng.randrange(8)] for _ in range(16)) for _ in range(4)]
written, k = 0, 0
while written < total:
    folder = os.path.join(root, f"base/{k % 8}")
    os.makedirs(folder, exist_ok=True)
    if k % 25 == 12:
        size = min(64 << 20, total - written)
        with open(os.path.join(folder, f"blob-{k}.bin"), "wb") as f:
            f.write(os.urandom(size))
    else:
        size = min(64 << 20, total - written)
        with open(os.path.join(folder, f"table-{k}.tsv"), "wb") as f:
            f.write(f"-- segment {k}\n".encode())
            f.write(chunks[k % 4][: max(0, size - 20)])
    written += size
    k += 1
print(f"fill.py: {written / (1 << 30):.2f} GiB in {k} files")
