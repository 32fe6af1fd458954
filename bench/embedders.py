"""Benchmark: the text embedders side by side — neighbour quality on labeled text, and throughput.

Run from the project root (not a test; about 5-8 minutes on 2 cores):

    .venv/bin/python bench/embedders.py [--quick] [--minilm-rows 1500] [--models minilm,wordllama,tfidf]

Quality: leave-one-out k-NN accuracy among the labeled rows, by cosine, averaged over k = 1, 3, 5, 7, 9
(a row's class is the majority of its k nearest other labeled rows; a tie goes to the tied class of the
nearest neighbour).  It asks what extension asks of an embedding: are a row's nearest neighbours of its
class?  Nothing is fitted to the labels, so no cross-validation is needed.  The labeled sets:

- ``spam dev``: the 100 dev labels of the YouTube spam comments in ../shared (all 1,836 texts embedded,
  TF-IDF fitted on all of them, as the app does);
- ``support``: the 600 support messages of the text demo, with their gold labels (synthetic: keyword
  and paraphrase variants of three classes);
- ``wordnet noun glosses``: definitions of WordNet nouns ("a domesticated carnivorous mammal ..."), labeled
  by WordNet's lexicographer file (animal, food, artifact, person, ...: 14 classes, 100 each; from
  Debian's ``wordnet-base``, skipped when absent): meaning with little shared vocabulary;
- ``chatterbot topics``: English conversations (question and answer) of the chatterbot-corpus package,
  labeled by topic file, at most 100 per topic (``pip install chatterbot-corpus``: data only, BSD;
  skipped when absent);
- ``chatterbot languages``: one utterance per conversation in 8 languages, labeled by language.

Throughput: texts/s on 10,000 and 100,000 real short texts (the texts above, sampled with replacement;
MiniLM once, on ``--minilm-rows`` of them: it would take half an hour at 100k, and its rate does not
depend on the table size), with the process CPU
seconds beside the wall clock, since the machine may be shared.  Every embedder runs in this one
process, so the figures are comparable within a run; models are loaded before timing.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["EPOXY_DATA_DIR"] = tempfile.mkdtemp(prefix="epoxy-bench-")  # never read or write the user's cache

import numpy as np  # noqa: E402

from epoxy_core.embed import available_embedders, embed_texts  # noqa: E402

SPAM_CSV = ROOT.parent / "shared" / "data" / "youtube_spam" / "youtube_spam.csv"
SUPPORT_DIR = ROOT / "epoxy_core" / "data" / "demo_files"
WORDNET_NOUNS = Path("/usr/share/wordnet/data.noun")  # Debian's wordnet-base
KS = (1, 3, 5, 7, 9)
LANGUAGES = ("english", "spanish", "portuguese", "german", "italian", "french", "dutch", "indonesian")


@dataclass
class LabeledSet:
    """Texts to embed, and the rows among them that carry a label."""

    name: str
    texts: list[str]
    rows: np.ndarray
    labels: np.ndarray

    @property
    def majority(self) -> float:
        return Counter(self.labels.tolist()).most_common(1)[0][1] / len(self.labels)


def _spam() -> LabeledSet | None:
    if not SPAM_CSV.is_file():
        return None
    with open(SPAM_CSV, newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    texts = [r["text"] or "" for r in records]
    dev = [i for i, r in enumerate(records) if r["split"] == "train" and r["label"]]
    labels = np.array([records[i]["label"] for i in dev])
    return LabeledSet(f"spam dev ({len(dev)} of {len(texts):,})", texts, np.array(dev), labels)


def _support() -> LabeledSet | None:
    if not (SUPPORT_DIR / "support_messages_gold.csv").is_file():
        return None
    with open(SUPPORT_DIR / "support_messages.csv", newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    with open(SUPPORT_DIR / "support_messages_gold.csv", newline="", encoding="utf-8") as handle:
        gold = {r["message_id"]: r["label"] for r in csv.DictReader(handle)}
    texts = [r["text"] for r in records]
    labels = np.array([gold[r["message_id"]] for r in records])
    return LabeledSet(f"support ({len(texts)})", texts, np.arange(len(texts)), labels)


def _chatterbot_files() -> Path | None:
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _conversations(path: Path) -> list[list[str]]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [[str(u) for u in c] for c in data.get("conversations") or [] if isinstance(c, list) and c]


def _chatterbot_topics(min_per_class: int = 20, max_per_class: int = 100) -> LabeledSet | None:
    folder = _chatterbot_files()
    if folder is None:
        return None
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for path in sorted((folder / "english").glob("*.yml")):
        conversations = [" ".join(c) for c in _conversations(path)]
        if len(conversations) < min_per_class:
            continue
        # At most 100 per topic: tech_support alone holds 1,050 near-template conversations.
        chosen = rng.choice(len(conversations), size=min(max_per_class, len(conversations)), replace=False)
        texts.extend(conversations[i] for i in sorted(chosen))
        labels.extend([path.stem] * len(chosen))
    name = f"chatterbot topics ({len(texts)}, {len(set(labels))} classes)"
    return LabeledSet(name, texts, np.arange(len(texts)), np.array(labels))


def _chatterbot_languages(per_language: int = 100) -> LabeledSet | None:
    folder = _chatterbot_files()
    if folder is None:
        return None
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for language in LANGUAGES:
        utterances = [c[0] for path in sorted((folder / language).glob("*.yml")) for c in _conversations(path)]
        utterances = [u for u in dict.fromkeys(utterances) if len(u.split()) >= 3]
        if len(utterances) < 20:
            continue
        chosen = rng.choice(len(utterances), size=min(per_language, len(utterances)), replace=False)
        texts.extend(utterances[i] for i in chosen)
        labels.extend([language] * len(chosen))
    name = f"chatterbot languages ({len(texts)}, {len(set(labels))} classes)"
    return LabeledSet(name, texts, np.arange(len(texts)), np.array(labels))


# WordNet's lexicographer files for nouns (its "supersenses"): the classes of the gloss set.
_NOUN_FILES = {
    "04": "act", "05": "animal", "06": "artifact", "07": "attribute", "08": "body", "09": "cognition",
    "10": "communication", "13": "food", "14": "group", "15": "location", "18": "person", "20": "plant",
    "26": "state", "27": "substance",
}  # fmt: skip


def _wordnet_glosses(per_class: int = 100) -> LabeledSet | None:
    if not WORDNET_NOUNS.is_file():
        return None
    by_class: dict[str, list[str]] = {name: [] for name in _NOUN_FILES.values()}
    with open(WORDNET_NOUNS, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("  ") or "|" not in line:
                continue  # the licence header
            fields, gloss = line.split("|", 1)
            name = _NOUN_FILES.get(fields.split()[1])
            definition = gloss.split(";")[0].strip()
            if name is not None and len(definition.split()) >= 3:
                by_class[name].append(definition)
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for name, glosses in by_class.items():
        chosen = rng.choice(len(glosses), size=min(per_class, len(glosses)), replace=False)
        texts.extend(glosses[i] for i in sorted(chosen))
        labels.extend([name] * len(chosen))
    name = f"wordnet noun glosses ({len(texts)}, {len(by_class)} classes)"
    return LabeledSet(name, texts, np.arange(len(texts)), np.array(labels))


def labeled_sets() -> list[LabeledSet]:
    makers = (_spam, _support, _wordnet_glosses, _chatterbot_topics, _chatterbot_languages)
    found = [make() for make in makers]
    return [s for s in found if s is not None]


def load_corpus() -> dict[str, list[str]]:
    """Every available set of real texts by name (also used by bench/minilm_profile.py)."""
    return {s.name: s.texts for s in labeled_sets()}


def knn_loo_accuracy(X: np.ndarray, labels: np.ndarray, ks: tuple[int, ...] = KS) -> dict[int, float]:
    """Leave-one-out k-NN accuracy by cosine (rows of X are unit vectors), for each k."""
    similarity = X @ X.T
    np.fill_diagonal(similarity, -np.inf)
    order = np.argsort(-similarity, axis=1, kind="stable")
    classes, codes = np.unique(labels, return_inverse=True)
    result = {}
    for k in ks:
        neighbours = codes[order[:, :k]]
        correct = 0
        for row, votes in enumerate(neighbours):
            counts = np.bincount(votes, minlength=classes.size)
            tied = np.flatnonzero(counts == counts.max())
            # A tie goes to the tied class whose member is nearest.
            predicted = next(v for v in votes if v in tied)
            correct += predicted == codes[row]
        result[k] = correct / len(labels)
    return result


def timed_embed(texts: list[str], model: str) -> tuple[np.ndarray, float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    X = embed_texts(texts, model=model)
    return X, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10x smaller throughput runs, to check the script")
    parser.add_argument("--minilm-rows", type=int, default=1500, help="texts for MiniLM's throughput run")
    parser.add_argument("--models", default="minilm,wordllama,tfidf", help="comma-separated model strings")
    args = parser.parse_args()
    installed = {info.name: info.installed for info in available_embedders()}
    models = [m for m in args.models.split(",") if installed.get(m, True)]
    skipped = sorted(set(args.models.split(",")) - set(models))
    start_all = time.perf_counter()
    print(f"Load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (others may share the box)")
    if skipped:
        print(f"(not installed, skipped: {', '.join(skipped)})")
    sets = labeled_sets()
    for model in models:  # load every model once, outside the timings
        embed_texts(["warm up"], model=model)

    print("\nNeighbour quality: leave-one-out k-NN accuracy by cosine, mean over k = 1, 3, 5, 7, 9")
    quality: dict[tuple[str, str], float] = {}
    speed: dict[tuple[str, str], tuple[float, float]] = {}
    for labeled in sets:
        for model in models:
            X, seconds, cpu = timed_embed(labeled.texts, model)
            per_k = knn_loo_accuracy(X[labeled.rows], labeled.labels)
            quality[labeled.name, model] = float(np.mean(list(per_k.values())))
            speed[labeled.name, model] = (len(labeled.texts) / seconds, cpu)
            detail = " ".join(f"k{k}={v:.3f}" for k, v in per_k.items())
            print(
                f"  {labeled.name:<38} {model:<10} {quality[labeled.name, model]:.3f}  ({detail});"
                f" {len(labeled.texts) / seconds:7.0f} texts/s, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    print("\nThroughput on real short texts sampled with replacement")
    pool = [t for s in sets for t in s.texts]
    rng = np.random.default_rng(0)
    sizes = [10_000 // (10 if args.quick else 1), 100_000 // (10 if args.quick else 1)]
    throughput: dict[tuple[str, str], tuple[float, float]] = {}
    for n in sizes:
        texts = [pool[i] for i in rng.integers(0, len(pool), n)]
        for model in models:
            if model == "minilm" and n != sizes[0]:
                continue  # its rate does not depend on n (fixed-size batches); measured once
            rows = min(n, args.minilm_rows) if model == "minilm" else n
            _, seconds, cpu = timed_embed(texts[:rows], model)
            label = f"{n:,}" if rows == n else f"{n:,} (first {rows:,})"
            throughput[label, model] = (rows / seconds, cpu / rows * 1000)
            print(
                f"  {label:<22} {model:<10} {rows / seconds:8.0f} texts/s ({seconds:6.1f} s wall,"
                f" {cpu / rows * 1000:6.2f} CPU s per 1k texts), load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    print(f"\nTotal {time.perf_counter() - start_all:.0f} s; load average at the end {os.getloadavg()[0]:.1f}\n")
    header = " | ".join(f"{m:>10}" for m in models)
    print(f"| {'quality (LOO k-NN, mean k=1..9)':<44} | {'majority':>8} | {header} |")
    print(f"|{'-' * 46}|{'-' * 10}|" + "|".join("-" * 12 for _ in models) + "|")
    for labeled in sets:
        cells = " | ".join(f"{quality[labeled.name, m]:10.3f}" for m in models)
        print(f"| {labeled.name:<44} | {labeled.majority:8.3f} | {cells} |")
    print(f"\n| {'throughput, texts/s (CPU s per 1k texts)':<44} | {header} |")
    print(f"|{'-' * 46}|" + "|".join("-" * 12 for _ in models) + "|")
    for labeled in sets:
        cells = " | ".join(f"{speed[labeled.name, m][0]:10.0f}" for m in models)
        print(f"| {labeled.name:<44} | {cells} |")
    for n in sizes:
        cells = []
        for m in models:
            key = next((k for k in throughput if k[1] == m and k[0].startswith(f"{n:,}")), None)
            if key is None:
                cells.append("(as above)")
                continue
            rate, cpu_per_k = throughput[key]
            cells.append(f"{rate:>5.0f} ({cpu_per_k:.1f})" if rate < 1e4 else f"{rate:>5.0f} ({cpu_per_k:.2f})")
        print(f"| {f'{n:,} short texts':<44} | " + " | ".join(f"{c:>10}" for c in cells) + " |")


if __name__ == "__main__":
    main()
