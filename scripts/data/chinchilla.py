"""Build chinchilla/points.csv from a clone of github.com/epoch-research/analyzing-chinchilla.

Usage:
    git clone https://github.com/epoch-research/analyzing-chinchilla
    git -C analyzing-chinchilla checkout 92258837425e1b5f2851d624287f0120583a3d0e
    python scripts/data/chinchilla.py analyzing-chinchilla OUT_DIR

Reads data/svg_extracted_data.csv (Epoch AI's reconstruction of Hoffmann et al.'s Figure 4:
245 runs; sha256 193478df...) and writes OUT_DIR/points.csv: n_params (Epoch's 'Model Size'),
tokens (Training FLOP / (6 * Model Size), as Epoch's analysis notebook computes it), loss, flops
('Training FLOP'), at full double precision, rows in Epoch's order (sha256 21a8c50d...).
Standard library only; reads the local clone, downloads nothing.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

SOURCE = Path("data/svg_extracted_data.csv")
SOURCE_SHA256 = "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30"
OUTPUT_SHA256 = "21a8c50d3c3d9c9859101b08543331da22d2f47a0657a9529ac442e1df040c10"
COLUMNS = {"n_params": "Model Size", "loss": "loss", "flops": "Training FLOP"}


def build(repo: Path, out: Path) -> Path:
    """Write out/points.csv; a missing file or column, or a non-positive value, is a
    ValueError naming the file, row and column (nothing is dropped)."""
    src = repo / SOURCE
    if not src.is_file():
        raise ValueError(f"{src}: not found (give the root of a clone of analyzing-chinchilla)")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        print(f"note: {src} differs from the documented version (sha256 {digest[:12]}...)")
    with src.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = [c for c in COLUMNS.values() if rows and c not in rows[0]]
    if not rows or missing:
        raise ValueError(f"{src}: no rows, or missing column(s) {missing}")
    out.mkdir(parents=True, exist_ok=True)
    dest = out / "points.csv"
    with dest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)  # the csv module's \r\n line ends, as the documented file has
        w.writerow(["n_params", "tokens", "loss", "flops"])
        for i, r in enumerate(rows, start=2):  # file line numbers: line 1 is the header
            v = {}
            for ours, theirs in COLUMNS.items():
                try:
                    v[ours] = float(r[theirs])
                except ValueError:
                    raise ValueError(f"{src}, line {i}, column {theirs!r}: {r[theirs]!r}") from None
                if not v[ours] > 0:
                    raise ValueError(f"{src}, line {i}, column {theirs!r}: {v[ours]!r} is not > 0")
            tokens = v["flops"] / (6 * v["n_params"])
            w.writerow([repr(v["n_params"]), repr(tokens), repr(v["loss"]), repr(v["flops"])])
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    same = "the documented file" if digest == OUTPUT_SHA256 else f"sha256 {digest[:12]}..."
    print(f"wrote {dest}: {len(rows)} runs ({same})")
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build(Path(sys.argv[1]), Path(sys.argv[2]))
