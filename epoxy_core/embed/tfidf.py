"""TF-IDF word and character n-grams reduced by TruncatedSVD: an embedder with no model files."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.base import Backend, EmbedderInfo, ProgressCallback, _call_progress, _has_module
from epoxy_core.embed.normalize import l2_normalize

TFIDF_MAX_DIM = 256

# Share of the work done after each stage (word n-grams, char n-grams, then the SVD), from
# CPU time on 20,000 real short texts: 3%, 17%, 80%.  Progress is reported in rows scaled by
# these shares, because the vectorizers fit all rows at once and have no batches to count.
_STAGE_SHARES = (0.05, 0.25, 1.0)


def _tfidf_embed(
    texts: list[str], progress: ProgressCallback | None, max_dim: int = TFIDF_MAX_DIM
) -> npt.NDArray[np.float32]:
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from threadpoolctl import threadpool_limits

    n = len(texts)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    # An n-gram found in a single text adds nothing to any similarity between two texts,
    # yet such n-grams are most of the vocabulary: dropping them makes the SVD 2-3x faster.
    min_df = 2 if n > 2 else 1
    blocks = []
    for share, vectorizer in zip(
        _STAGE_SHARES,
        (
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, dtype=np.float32),
            # char_wb n-grams also cover emoji, other scripts and misspellings that words miss.
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=min_df, dtype=np.float32),
        ),
        strict=False,
    ):
        try:
            blocks.append(vectorizer.fit_transform(texts))
        except ValueError:
            pass  # empty vocabulary (e.g. only empty strings): this view has nothing to add
        _call_progress(progress, int(share * n), n)
    if not blocks:
        # No text has any n-gram: every row is a zero row and gets its fallback vector.
        _call_progress(progress, n, n)
        return l2_normalize(np.zeros((n, 1), dtype=np.float32), seeds=texts)
    features = sparse.hstack(blocks, format="csr")
    # TruncatedSVD needs fewer components than rows and features.
    dim = max(1, min(max_dim, n - 1, features.shape[1] - 1))
    if dim >= 2:
        svd = TruncatedSVD(n_components=dim, algorithm="randomized", random_state=0)
        # Multi-threaded BLAS inside the randomized SVD runs 15-40x slower on 2 busy cores.
        with threadpool_limits(limits=1, user_api="blas"):
            reduced = svd.fit_transform(features).astype(np.float32)
    else:
        # One or two rows: a reduction is meaningless; keep the first feature column.
        reduced = np.asarray(features[:, :1].todense(), dtype=np.float32)
    _call_progress(progress, n, n)
    return l2_normalize(reduced, seeds=texts)


def _fingerprint(_: str) -> str:
    import sklearn

    return f"tfidf/v1/max_dim={TFIDF_MAX_DIM}/sklearn={sklearn.__version__}"


def _describe() -> EmbedderInfo:
    return EmbedderInfo(
        name="tfidf",
        label="TF-IDF + SVD (no model)",
        installed=_has_module("sklearn"),
        dim=TFIDF_MAX_DIM,
        note="No model files; matches words and spellings, not meaning (best at telling languages apart); "
        "slow past 10,000 rows.",
    )


TFIDF_BACKEND = Backend(
    name="tfidf",
    label=lambda _: "TF-IDF + SVD",
    fingerprint=_fingerprint,
    embed=lambda _, texts, progress, batch_size: _tfidf_embed(texts, progress),
    describe=_describe,
)
