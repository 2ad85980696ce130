"""Training data and the build step of the local engine.

The model is two scikit-learn pipelines (intent, language) over character and word n-grams of the normalized
text, trained on the repository's hand-written guest messages (``data/train/*.jsonl``, es/en/pt) plus CLINC150
out-of-scope negatives (``data/clinc150``). The artifact is keyed by a hash of the data and of this code's
version, so a changed data set is never served by a stale model. ``python manage.py nlu train`` builds it;
``make run``/``make test`` call that; the engine also builds it on first use when it is missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings

from conversations.agent.nlu.base import INTENTS, LANGUAGES, SOCIAL_INTENTS
from conversations.agent.nlu.text import lowered, normalize

logger = structlog.get_logger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MODEL_VERSION = "local-v1"


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str
    entities: dict[str, Any] | None = None


def read_jsonl(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError(f"{path}:{number}: each line needs a string 'text'")
            intent = row.get("intent")
            if intent is not None and intent not in INTENTS:
                raise ValueError(f"{path}:{number}: unknown intent {intent!r}")
            examples.append(
                Example(
                    text=row["text"],
                    intent=intent or "",
                    language=row.get("language", ""),
                    entities=row.get("entities"),
                )
            )
    return examples


def training_files() -> list[Path]:
    files = sorted((DATA_DIR / "train").glob("*.jsonl"))
    files.append(DATA_DIR / "clinc150" / "train.jsonl")
    return [f for f in files if f.exists()]


def training_examples() -> list[Example]:
    return [example for path in training_files() for example in read_jsonl(path)]


@functools.lru_cache(maxsize=1)
def social_words() -> frozenset[str]:
    """Every word (normalized) of the hand-written social answers: greetings, goodbyes, thanks, yes and no. A message
    made only of these ("sí", "vale", "muchas gracias", "ok perfecto") answers no question that wants a name or a
    room, however confident the classifier is about its intent."""
    words: set[str] = set()
    for path in sorted((DATA_DIR / "train").glob("*.jsonl")):
        for example in read_jsonl(path):
            if example.intent in SOCIAL_INTENTS:
                words.update(_WORDS.findall(normalize(example.text)))
    return frozenset(words)


_WORDS = re.compile(r"[^\W_]+")


def data_fingerprint() -> str:
    digest = hashlib.sha256(MODEL_VERSION.encode())
    import sklearn

    digest.update(sklearn.__version__.encode())
    digest.update(Path(__file__).read_bytes())  # a change to the training code is a new model
    digest.update((Path(__file__).parent / "text.py").read_bytes())
    for path in training_files():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# CLINC150 negatives outnumber our own out-of-scope lines; they count for less so that the English hotel
# intents are not pulled towards out_of_scope.
CLINC_WEIGHT = 0.3
# Linear SVM scores are turned into confidences with a softmax at this temperature (calibrated on held-out data:
# most correct answers land above the default clarification threshold, most wrong ones below).
SCORE_SCALE = 3.5


class FeaturizedModels:
    """One n-gram featurization shared by the intent and the language classifiers (one transform per message)."""

    def __init__(
        self,
        char_vectorizer: Any,
        word_vectorizer: Any,
        accent_vectorizer: Any,
        intent_clf: Any,
        language_clf: Any,
    ) -> None:
        self.char_vectorizer = char_vectorizer
        self.word_vectorizer = word_vectorizer
        # Accents are folded away for intents, but "olá", "não", "ñ" are what tells Portuguese from Spanish.
        self.accent_vectorizer = accent_vectorizer
        self.intent_clf = intent_clf
        self.language_clf = language_clf

    def language_features(self, features, lowered_texts: list[str]):
        from scipy.sparse import hstack

        return hstack([features, self.accent_vectorizer.transform(lowered_texts)], format="csr")

    def features(self, normalized_texts: list[str]):
        from scipy.sparse import hstack

        return hstack(
            [self.char_vectorizer.transform(normalized_texts), self.word_vectorizer.transform(normalized_texts)],
            format="csr",
        )

    @staticmethod
    def scores_to_probabilities(scores):
        import numpy as np

        scaled = np.asarray(scores, dtype=float) * SCORE_SCALE
        scaled -= scaled.max(axis=-1, keepdims=True)
        exp = np.exp(scaled)
        return exp / exp.sum(axis=-1, keepdims=True)

    def intent_probabilities(self, features):
        return self.scores_to_probabilities(self.intent_clf.decision_function(features))

    def language_probabilities(self, language_features):
        return self.scores_to_probabilities(self.language_clf.decision_function(language_features))


def build_models(examples: list[Example], clinc: set[Example] | None = None) -> FeaturizedModels:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    clinc = clinc if clinc is not None else set(read_jsonl(DATA_DIR / "clinc150" / "train.jsonl"))
    texts = [normalize(e.text) for e in examples]
    char_vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True, min_df=1)
    word_vectorizer = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", sublinear_tf=True
    )
    features = hstack([char_vectorizer.fit_transform(texts), word_vectorizer.fit_transform(texts)], format="csr")
    weights = [CLINC_WEIGHT if e in clinc else 1.0 for e in examples]

    intent_clf = LinearSVC(C=1.0, class_weight="balanced")
    intent_clf.fit(features, [e.intent for e in examples], sample_weight=weights)

    rows = [i for i, e in enumerate(examples) if e.language in LANGUAGES]
    accent_vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, lowercase=True)
    accent_features = accent_vectorizer.fit_transform([lowered(examples[i].text) for i in rows])
    language_features = hstack([features[rows], accent_features], format="csr")
    language_clf = LinearSVC(C=1.0, class_weight="balanced")
    language_clf.fit(language_features, [examples[i].language for i in rows], sample_weight=[weights[i] for i in rows])
    return FeaturizedModels(char_vectorizer, word_vectorizer, accent_vectorizer, intent_clf, language_clf)


def model_dir() -> Path:
    return Path(settings.NLU_MODEL_DIR)


def model_path(fingerprint: str) -> Path:
    return model_dir() / f"nlu-{fingerprint}.joblib"


def train(*, force: bool = False) -> tuple[Path, bool]:
    """Build the artifact for the current data unless it exists. Returns (path, built)."""
    import joblib

    fingerprint = data_fingerprint()
    path = model_path(fingerprint)
    if path.exists() and not force:
        return path, False
    started = time.perf_counter()
    examples = training_examples()
    models = {
        "models": build_models(examples),
        "meta": {"fingerprint": fingerprint, "examples": len(examples), "version": MODEL_VERSION},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    joblib.dump(models, tmp, compress=3)
    os.replace(tmp, path)  # atomic: concurrent builders never see half a file
    for stale in path.parent.glob("nlu-*.joblib"):
        if stale != path:
            stale.unlink(missing_ok=True)
    logger.info(
        "nlu_model_built", path=str(path), examples=len(examples), seconds=round(time.perf_counter() - started, 1)
    )
    return path, True


_loaded: FeaturizedModels | None = None
_load_lock = threading.Lock()


def load_models() -> FeaturizedModels:
    """The current models, loaded once per process (built first if missing)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _load_lock:
        if _loaded is None:
            import joblib

            path, built = train()
            if built:
                logger.warning("nlu_model_built_on_first_use", path=str(path))
            _loaded = joblib.load(path)["models"]
    return _loaded
