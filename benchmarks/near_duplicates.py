"""How far apart training/overlap.py's fingerprints put distinct photos, and copies of a photo.

    python -m benchmarks.near_duplicates --photos ../shared/data/photos

Prints the closest pairs of the folder's photos (distinct photos, unless the folder holds copies),
then, for each kind of copy made of every photo (re-encoded, resized, cropped, mirrored), the
largest, 95th-percentile and median distance to its original and the share at or under the
threshold. The threshold in training/overlap.py and its figures in training/README.md come from here.
"""
import argparse
import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from training import overlap


def jpeg(image, quality=90):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def cut(image, left, top, right, bottom):
    w, h = image.size
    return image.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


COPIES = {
    "re-encoded at quality 50": lambda im: jpeg(im, 50),
    "resized to half": lambda im: jpeg(im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR)),
    "cropped 2% a side": lambda im: jpeg(cut(im, .02, .02, .02, .02)),
    "cropped 3% a side": lambda im: jpeg(cut(im, .03, .03, .03, .03)),
    "cropped 5% a side": lambda im: jpeg(cut(im, .05, .05, .05, .05)),
    "cropped 8% a side": lambda im: jpeg(cut(im, .08, .08, .08, .08)),
    "3% cut off one side": lambda im: jpeg(cut(im, .03, 0, 0, 0)),
    "5% cut off one side": lambda im: jpeg(cut(im, .05, 0, 0, 0)),
    "3% a side, half size, quality 60": lambda im: jpeg(cut(im, .03, .03, .03, .03).resize(
        (im.width // 2, im.height // 2), Image.Resampling.BILINEAR), 60),
    "mirrored": lambda im: jpeg(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", required=True, type=Path, help="a folder of photos")
    parser.add_argument("--closest", type=int, default=8, help="closest pairs to list")
    args = parser.parse_args(argv)
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    prints = overlap.fingerprints(paths)
    names = list(prints)
    apart = overlap.distances([prints[n] for n in names], [prints[n] for n in names])
    rows, cols = np.triu_indices(len(names), 1)
    print(f"{len(names)} photos; threshold {overlap.THRESHOLD} of 128 bits; the closest pairs:")
    for i in np.argsort(apart[rows, cols], kind="stable")[:args.closest]:
        print(f"  {apart[rows[i], cols[i]]:3d}  {names[rows[i]]}  {names[cols[i]]}")
    print(f"| copy | largest | 95th percentile | median | at or under {overlap.THRESHOLD} |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "copy.jpg"
        for how, make in COPIES.items():
            found = []
            for path in paths:
                with Image.open(path) as image:
                    copy.write_bytes(make(image.convert("RGB")))
                found.append(overlap.distances([overlap.fingerprint(copy)], [prints[path.name]])[0, 0])
            found = np.array(found)
            print(f"| {how} | {found.max()} | {np.percentile(found, 95):.0f} | {np.median(found):.0f} "
                  f"| {np.mean(found <= overlap.THRESHOLD):.0%} |")


if __name__ == "__main__":
    main()
