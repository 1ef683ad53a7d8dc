#!/usr/bin/env python3
"""Make a labelled router file (jsonl for `chorus train-router --format jsonl`)
from the MMLU CSVs (question,A,B,C,D,answer; no header) and
subject_categories.json.

  --labels category : the four MMLU categories (STEM, humanities, social
                      sciences, other), every subject in domain.
  --labels domain   : law / medicine / economics / mathematics /
                      computer_science from their subjects; every other
                      subject becomes out-of-domain ("oos").

  --max-words N     : keep only questions of at most N words (short general
                      questions, e.g. as extra out-of-domain training text
                      for a CLINC router: `train-router --extra-ood`).

Splits are assigned by a stable hash of the question: 80% train, 10% val,
10% test. Each line: {"text", "label", "fine" (the subject), "split"}.
"""
import argparse
import csv
import hashlib
import json
import os
import sys

DOMAINS = {
    "law": ["international_law", "jurisprudence", "professional_law"],
    "medicine": ["anatomy", "clinical_knowledge", "college_medicine", "professional_medicine",
                 "medical_genetics", "nutrition", "virology"],
    "economics": ["econometrics", "high_school_macroeconomics", "high_school_microeconomics"],
    "mathematics": ["abstract_algebra", "college_mathematics", "elementary_mathematics",
                    "high_school_mathematics", "high_school_statistics"],
    "computer_science": ["college_computer_science", "computer_security",
                         "high_school_computer_science", "machine_learning"],
}
CATEGORY_NAMES = {"STEM": "stem", "humanities": "humanities", "social sciences": "social_sciences",
                  "other (business, health, misc.)": "other"}


def split_of(text):
    h = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "train" if h < 8 else ("val" if h == 8 else "test")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mmlu", required=True,
                    help="folder of the MMLU test CSVs and subject_categories.json (not in this repository: "
                         "fixtures/data/mmlu holds only the question texts)")
    ap.add_argument("--labels", choices=["category", "domain"], default="domain")
    ap.add_argument("--with-choices", action="store_true", help="append the four answer options to the text")
    ap.add_argument("--max-words", type=int, default=0, help="keep questions of at most this many words (0: all)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cats = json.load(open(os.path.join(args.mmlu, "subject_categories.json")))["subjects"]
    domain_of = {s: d for d, subs in DOMAINS.items() for s in subs}
    counts = {}
    with open(args.out, "w", encoding="utf-8") as out:
        for subject in sorted(cats):
            path = os.path.join(args.mmlu, subject + ".csv")
            if not os.path.exists(path):
                print(f"missing {path}", file=sys.stderr)
                continue
            if args.labels == "category":
                label = CATEGORY_NAMES[cats[subject]["category"]]
            else:
                label = domain_of.get(subject, "oos")
            with open(path, newline="", encoding="utf-8") as f:
                for row in csv.reader(f):
                    if len(row) < 6:
                        continue
                    text = row[0].strip()
                    if args.max_words and len(text.split()) > args.max_words:
                        continue
                    if args.with_choices:
                        text += "\n" + "\n".join(row[1:5])
                    sp = split_of(row[0])
                    out.write(json.dumps({"text": text, "label": label, "fine": subject, "split": sp},
                                         ensure_ascii=False) + "\n")
                    counts[(label, sp)] = counts.get((label, sp), 0) + 1
    labels = sorted({k[0] for k in counts})
    for lab in labels:
        print(f"{lab:18s} " + "  ".join(f"{sp} {counts.get((lab, sp), 0):5d}" for sp in ("train", "val", "test")))


if __name__ == "__main__":
    main()
