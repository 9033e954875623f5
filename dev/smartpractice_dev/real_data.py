"""A real answer log for the evaluation harness: ASSISTments 2009-2010 skill builder, fetched and converted.

    make eval-real                                  # this module, then the harness with --ablation on its output
    .venv/bin/python -m smartpractice_dev.real_data [--dir data/real]

Where it comes from: PyPI's sdist pyBKT 1.2 (`pyBKT-1.2.tar.gz`) was packed with its repository's whole `.git`
directory, whose pack holds the blob of `pyBKT/pyBKT/data/test.csv` (commit e7836be, "added local data files",
2020-04-27): the ASSISTments 2009-2010 skill-builder log, "corrected" version (401,756 rows, 30 columns).
This module downloads that sdist from the registry's simple index, checks its sha256, reads the blob with
`git cat-file` from the sdist's `.git`, checks the blob's md5 and sha256, converts it to the harness's long format
and checks the result's sha256; every step is cached under `--dir` (gitignored: the data are NOT part of the
repository). Licence: the ASSISTments data are free for research use with a citation of Feng, Heffernan &
Koedinger (2009), "Addressing the assessment challenge with an online system that tutors as it assesses", User
Modeling and User-Adapted Interaction 19(3); redistribution is not clearly allowed, hence fetch-and-convert only.

Conversion (`convert`): rows with a skill only; one answer per order_id (the file writes a multi-skill answer
once per skill): its learner, problem and outcome from its first row (learner and problem must agree across its
rows), its skills the set of its rows' skill ids in numeric order joined by ';'; timestamp = order_id (the log's
order); sorted by (learner, order_id) numerically; learners prefixed "u", problems "p". 283,105 answers,
4,163 learners, 17,751 problems, 123 skills, 65.8 % correct, 47,037 multi-skill answers.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import subprocess
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

INDEX_URL = "https://pypi.org/simple/pybkt/"
SDIST = "pyBKT-1.2.tar.gz"
SDIST_SHA256 = "fbaaa1c40fa954fbf7362ea55b862d68f08d91944f39430ada3fd3301bd5a3cc"
BLOB = "d7aee74df7b0de0ae9b9a71d733c0c08f0049856"  # pyBKT/pyBKT/data/test.csv
RAW_MD5 = "938389ba18350f1c5ae9fcf21d2a5fc9"
RAW_SHA256 = "1aa296e00b6c88c4d6fad4ca2ae4866484d9fe5484f38f5c8c94dfc49f045e08"
CONVERTED_SHA256 = "56fc59110ba1a40a9e26b937d233de6299fe3dadbdeeb3c5bf349ef09a06b332"
DEFAULT_DIR = Path("data/real")
RAW_NAME = "assist2009_skill_builder_raw.csv"
CONVERTED_NAME = "assist2009.csv"
HEADER = "user_id,item_id,skill_id,correct,timestamp\n"


class IntegrityError(RuntimeError):
    """A downloaded or extracted file is not the one pinned here."""


def digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check(path: Path, **expected: str) -> None:
    for algorithm, value in expected.items():
        actual = digest(path, algorithm)
        if actual != value:
            raise IntegrityError(f"{path}: {algorithm} {actual}, expected {value}")


def sdist_url(index_html: str, filename: str = SDIST) -> str:
    """The file's URL in a PEP 503 simple index page (the #sha256 fragment dropped)."""
    for href in re.findall(r'href="([^"]+)"', index_html):
        url = href.split("#", 1)[0]
        if url.rsplit("/", 1)[-1] == filename:
            return str(url)
    raise LookupError(f"{filename} not in the index page")


def download_sdist(directory: Path) -> Path:
    target = directory / SDIST
    if target.exists() and digest(target, "sha256") == SDIST_SHA256:
        return target
    with urllib.request.urlopen(INDEX_URL, timeout=60) as response:
        url = urllib.parse.urljoin(INDEX_URL, sdist_url(response.read().decode()))
    partial = target.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=300) as response, partial.open("wb") as out:
        for chunk in iter(lambda: response.read(1 << 20), b""):
            out.write(chunk)
    check(partial, sha256=SDIST_SHA256)
    partial.replace(target)
    return target


def extract_blob(sdist: Path, target: Path) -> None:
    """The log's blob from the sdist's bundled .git (only that directory is unpacked, into a temporary one)."""
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(sdist, "r:gz") as archive:
        members = [m for m in archive.getmembers() if "/.git/" in m.name]
        archive.extractall(tmp, members=members, filter="data")
        git_dir = next(Path(tmp).glob("*/.git"))
        env = {**os.environ, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
               "GIT_CONFIG_VALUE_0": "*"}
        partial = target.with_suffix(".part")
        with partial.open("wb") as out:
            subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "blob", BLOB], stdout=out, check=True,
                           env=env)
    check(partial, md5=RAW_MD5, sha256=RAW_SHA256)
    partial.replace(target)


@dataclass(frozen=True, slots=True)
class Conversion:
    lines: list[str]  # the long-format CSV, header first
    raw_rows: int
    skill_rows: int
    conflicting_outcomes: int  # order_ids whose rows disagree on the outcome (the first row's is kept)


def convert(records: Iterable[list[str]]) -> Conversion:
    """Raw skill-builder rows (header first) → the harness's long format (module docstring, "Conversion")."""
    rows = iter(records)
    header = next(rows)
    col = {name: header.index(name) for name in ("order_id", "user_id", "problem_id", "correct", "skill_id")}
    answers: dict[int, tuple[int, int, str, set[int]]] = {}  # order_id → user, problem, outcome, skills
    outcomes: dict[int, set[str]] = {}
    raw = with_skill = 0
    for row in rows:
        raw += 1
        skill = row[col["skill_id"]].strip()
        if not skill:
            continue
        with_skill += 1
        order = int(row[col["order_id"]])
        user, problem, outcome = int(row[col["user_id"]]), int(row[col["problem_id"]]), row[col["correct"]].strip()
        first = answers.setdefault(order, (user, problem, outcome, set()))
        if first[:2] != (user, problem):
            raise ValueError(f"order_id {order} is not one answer: learner or problem differs across its rows")
        first[3].add(int(skill))
        outcomes.setdefault(order, set()).add(outcome)
    lines = [HEADER] + [f"u{user},p{problem},{';'.join(str(s) for s in sorted(skills))},{outcome},{order}\n"
                        for order, (user, problem, outcome, skills) in
                        sorted(answers.items(), key=lambda kv: (kv[1][0], kv[0]))]
    return Conversion(lines=lines, raw_rows=raw, skill_rows=with_skill,
                      conflicting_outcomes=sum(len(v) > 1 for v in outcomes.values()))


def convert_file(raw: Path, target: Path) -> Conversion:
    with raw.open(encoding="latin-1", newline="") as handle:
        result = convert(csv.reader(handle))
    partial = target.with_suffix(".part")
    with partial.open("w", newline="") as out:
        out.writelines(result.lines)
    check(partial, sha256=CONVERTED_SHA256)
    partial.replace(target)
    return result


def ensure(directory: Path = DEFAULT_DIR) -> Path:
    """The converted log, fetched and converted unless a verified copy is already cached."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / CONVERTED_NAME
    if target.exists() and digest(target, "sha256") == CONVERTED_SHA256:
        print(f"{target}: cached, sha256 verified")
        return target
    raw = directory / RAW_NAME
    if not (raw.exists() and digest(raw, "sha256") == RAW_SHA256):
        sdist = download_sdist(directory)
        print(f"{sdist}: sha256 verified")
        extract_blob(sdist, raw)
        print(f"{raw}: blob {BLOB[:8]} extracted, md5 and sha256 verified")
    result = convert_file(raw, target)
    print(f"{target}: {len(result.lines) - 1} answers from {result.raw_rows} raw rows ({result.skill_rows} with a "
          f"skill), {result.conflicting_outcomes} order_ids with conflicting outcomes; sha256 verified")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="cache directory (gitignored)")
    ensure(parser.parse_args().dir)


if __name__ == "__main__":
    main()

