"""A stakeholder report: one self-contained HTML file that opens offline, from plain data.

The charts are Altair / Vega-Lite specs rendered in the browser by vega-embed.  The vega, vega-lite and
vega-embed scripts are inlined from the bundle that vl-convert-python ships (``vl_convert.javascript_bundle``),
so the file needs no network and the project vendors no JavaScript.  Building that bundle takes seconds, so
it is cached on disk under the data directory (``<data dir>/cache/``) per vl-convert and Vega-Lite version.

Everything a user typed (project, LF and class names, notes) is HTML-escaped; chart specs are embedded as
JSON with ``<``, ``>`` and ``&`` escaped, so no text can close a ``<script>`` element.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import numbers
import os
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CITATION", "build_report", "vega_bundle"]

CITATION = (
    "Mayee F. Chen, Daniel Y. Fu, Frederic Sala, Sen Wu, Ravi Teja Mullapudi, Fait Poms, Kayvon Fatahalian, "
    "Christopher Ré. Train and You'll Miss It: Interactive Model Iteration with Weak Supervision and "
    "Pre-Trained Embeddings. arXiv:2006.15168, 2020."
)
"""The method's paper (Epoxy), cited in every report."""
_PAPER_URL = "https://arxiv.org/abs/2006.15168"

# Summary columns shown in the LF table, with their headers and formats, in this order.
_LF_COLUMNS: dict[str, tuple[str, str]] = {
    "polarity": ("votes", "list"),
    "enabled": ("enabled", "bool"),
    "coverage": ("coverage", "pct"),
    "extended_coverage": ("coverage after extension", "pct"),
    "coverage_lift": ("lift", "pct+"),
    "overlaps": ("overlaps", "pct"),
    "conflicts": ("conflicts", "pct"),
    "estimated_accuracy": ("estimated accuracy", "pct"),
    "empirical_accuracy": ("dev accuracy", "pct"),
    "correct": ("dev correct", "int"),
    "incorrect": ("dev wrong", "int"),
    "extended_empirical_accuracy": ("dev accuracy after extension", "pct"),
}

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2733; margin: 0;
       background: #f6f7f9; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.1em; } h2 { font-size: 1.25em; margin-top: 1.8em;
     border-bottom: 1px solid #dde2e8; padding-bottom: 4px; }
.meta { color: #5b6672; margin: 0 0 1em; } .headline { font-size: 1.15em; background: #eef5fc;
        border-left: 4px solid #2171b5; padding: 10px 14px; margin: 1em 0; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e6e9ee; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f3f5f8; }
.chart { margin: 0.8em 0 1.4em; min-height: 40px; } .chart-error { color: #b00020; }
.notes li { margin: 0.2em 0; } .muted { color: #5b6672; font-size: 0.9em; } .scroll { overflow-x: auto; }
"""

# Renders every chart; errors are shown in place and kept in window.__epoxyReportErrors (tests read it).
_RENDER_JS = """
(function () {
  window.__epoxyReportErrors = [];
  document.querySelectorAll("script.vl-spec").forEach(function (node) {
    var target = document.getElementById(node.dataset.target);
    var fail = function (error) {
      window.__epoxyReportErrors.push(String(error));
      target.textContent = "This chart could not be drawn: " + error;
      target.className += " chart-error";
    };
    try {
      vegaEmbed(target, JSON.parse(node.textContent), {actions: false, renderer: "svg"}).catch(fail);
    } catch (error) {
      fail(error);
    }
  });
})();
"""


# --------------------------------------------------------------------------------------------------------------
# The vega bundle
# --------------------------------------------------------------------------------------------------------------


def _vegalite_version() -> str:
    """The Vega-Lite version Altair writes specs for, as vl-convert names it (e.g. ``"6.4"``)."""
    import altair as alt
    import vl_convert

    wanted = ".".join(str(alt.SCHEMA_VERSION).lstrip("v").split(".")[:2])
    available = list(vl_convert.get_vegalite_versions())
    if wanted in available:
        return wanted
    # An Altair newer than vl-convert: the newest bundle of the same major version reads its specs.
    same_major = [v for v in available if v.split(".")[0] == wanted.split(".")[0]]
    return (same_major or available)[-1]


def _cache_file(version: str) -> Path | None:
    try:
        import vl_convert

        from epoxy_core.config import data_dir

        return data_dir() / "cache" / f"vega-bundle-vlc{vl_convert.__version__}-vl{version}.js"
    except Exception:  # no usable data dir: build the bundle every time
        return None


@lru_cache(maxsize=2)
def vega_bundle(vl_version: str | None = None) -> str:
    """The vega + vega-lite + vega-embed JavaScript bundle (~900 KB) that defines ``window.vegaEmbed``.

    Built by vl-convert-python (seconds) and cached on disk and in memory.  Closing-tag sequences are
    escaped so the text can be inlined in a ``<script>`` element.

    Parameters
    ----------
    vl_version : str, optional
        Vega-Lite version (e.g. ``"6.4"``); default: the one Altair writes specs for.
    """
    import vl_convert

    version = vl_version or _vegalite_version()
    path = _cache_file(version)
    if path is not None:
        try:
            cached = path.read_text(encoding="utf-8")
            if "window.vegaEmbed" in cached:
                return cached
        except (OSError, UnicodeDecodeError):
            pass
    bundle = vl_convert.javascript_bundle(vl_version=version)
    # "</script" would end the inline element early; "<\/" means the same inside JS strings and regexes.
    bundle = bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT").replace("<!--", "<\\!--")
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
                tmp.write(bundle)
            os.replace(tmp.name, path)  # atomic: a concurrent reader sees the old file or the whole new one
        except OSError:
            pass
    return bundle


# --------------------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _format(value: Any, kind: str) -> str:
    if kind == "list" and isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(v) for v in value) or "—"
    if _is_missing(value):
        return "—"
    if kind == "bool":
        return "yes" if bool(value) else "no"
    if kind in ("pct", "pct+") and isinstance(value, numbers.Real):
        return f"{float(value):+.1%}" if kind == "pct+" else f"{float(value):.1%}"
    if kind == "int" and isinstance(value, numbers.Real):
        return f"{int(value):,}"
    if kind == "num" and isinstance(value, numbers.Real):
        return f"{float(value):.3f}"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):.3g}" if abs(float(value)) < 1e4 else f"{float(value):,.0f}"
    return str(value)


def _table(header: Sequence[str] | None, rows: Sequence[Sequence[tuple[str, bool]]]) -> str:
    """An HTML table; each cell is (already formatted text, is numeric).  Escapes everything."""
    head = "" if header is None else "<thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr></thead>"
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{_esc(t)}</td>' if num else f"<td>{_esc(t)}</td>" for t, num in row)
        + "</tr>"
        for row in rows
    )
    # Wide tables (many LF columns) scroll inside the page instead of spilling out of it.
    return f'<div class="scroll"><table>{head}<tbody>{body}</tbody></table></div>'


def _key_values(items: Mapping[str, Any]) -> str:
    if not isinstance(items, Mapping):
        raise ValueError(f"expected a mapping of names to values, got {type(items).__name__}.")
    rows = [[(str(k), False), (_format(v, "auto"), isinstance(v, numbers.Real))] for k, v in items.items()]
    return _table(None, rows)


def _lf_table(summary: pd.DataFrame) -> str:
    if not isinstance(summary, pd.DataFrame):
        raise ValueError(f"lf_summary must be a DataFrame (analysis.lf_summary), got {type(summary).__name__}.")
    names = summary["name"].astype(str).tolist() if "name" in summary.columns else [str(i) for i in summary.index]
    shown = [c for c in _LF_COLUMNS if c in summary.columns]
    header = ["LF", *(_LF_COLUMNS[c][0] for c in shown)]
    rows = []
    for i, name in enumerate(names):
        cells = [(name, False)]
        for column in shown:
            kind = _LF_COLUMNS[column][1]
            cells.append((_format(summary[column].iloc[i], kind), kind not in ("list", "bool")))
        rows.append(cells)
    return _table(header, rows)


def _comparison_table(comparison: pd.DataFrame) -> str:
    header = ["model", *(str(c).replace("_", " ") for c in comparison.columns)]
    rows = []
    for model, values in comparison.iterrows():
        cells = [(str(model), False)]
        for value in values.tolist():
            cells.append((_format(value, "num" if isinstance(value, float) else "auto"), True))
        rows.append(cells)
    return _table(header, rows)


def _json_for_script(spec: Mapping[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>``, ``&`` written as JSON escapes."""
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, default=_json_default)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a chart spec")


def _finite(value: Any) -> Any:
    """``value`` with every NaN / infinity replaced by None (JSON has neither; Vega reads null as missing)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return value


def _spec(chart: Any) -> dict[str, Any]:
    """A Vega-Lite spec from an Altair chart or a ready dict."""
    if hasattr(chart, "to_dict"):
        spec = chart.to_dict()
    elif isinstance(chart, Mapping):
        spec = dict(chart)
    else:
        raise ValueError(f"a chart must be an Altair chart or a Vega-Lite dict, got {type(chart).__name__}.")
    return _finite(spec)


# --------------------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------------------


def _method_paragraphs(summary: pd.DataFrame, class_names: Sequence[str]) -> str:
    extended = "extended_coverage" in summary.columns
    parts = [
        "Rows were labelled by <em>weak supervision</em>: a domain expert wrote labeling functions (LFs), small "
        "rules such as keywords, patterns, term lists or column conditions, each of which votes for one class on "
        "the rows it recognises and abstains elsewhere. No row of the training data needed a hand label.",
        "Each row was embedded with a pre-trained model and joined to its nearest neighbours. "
        + (
            "Every LF was <em>extended</em> to rows where it abstained but whose most similar voted row is close "
            "enough (a similarity threshold per LF), which raises coverage without new rules. "
            if extended
            else ""
        )
        + "A label model estimated how accurate each LF is from their agreements and disagreements alone and "
        "combined the votes into a probability per row"
        + (f" over the classes {', '.join(_esc(c) for c in class_names)}." if class_names else "."),
        "This is the Epoxy method of "
        f'<a href="{_PAPER_URL}">“Train and You’ll Miss It: Interactive Model Iteration with Weak Supervision and '
        "Pre-Trained Embeddings”</a> (Chen, Fu, Sala et al., 2020, arXiv:2006.15168). Figures marked “dev” "
        "are measured on the small hand-labelled development set; they are estimates with the uncertainty of "
        "its size.",
    ]
    return "".join(f"<p>{p}</p>" for p in parts)


def _date_text(date: Any) -> str:
    if date is None:
        return dt.date.today().isoformat()
    if isinstance(date, dt.datetime):
        return date.strftime("%Y-%m-%d %H:%M")
    if isinstance(date, dt.date):
        return date.isoformat()
    return str(date)


def build_report(
    *,
    project: str,
    dataset: Mapping[str, Any],
    lf_summary: pd.DataFrame,
    class_names: Sequence[str],
    comparison: pd.DataFrame | None = None,
    class_balance: Any = None,
    date: dt.date | dt.datetime | str | None = None,
    headline: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    method: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    proba: Any = None,
    comparison_metric: str = "accuracy",
    charts: Mapping[str, Any] | None = None,
) -> str:
    """One self-contained HTML report for stakeholders: data, method, LFs, metrics, class balance, charts.

    Takes plain data only, so the app (a download button) and the command line (``epoxy report``) build
    the same file.  The result opens offline in any browser: no script, style or font is fetched.

    Parameters
    ----------
    project : str
        Project name (the title).
    dataset : mapping
        A short summary of the data, shown as a table, e.g. ``{"rows": 1836, "dev labels": 100,
        "text column": "text", "embedding": "MiniLM"}``.
    lf_summary : pandas.DataFrame
        :func:`epoxy_core.analysis.lf_summary` output (index = LF names, or a ``name`` column); optional
        ``enabled`` column.  Coverage and accuracy charts are drawn from it when it has their columns.
    class_names : sequence of str
        Class names in index order.
    comparison : pandas.DataFrame, optional
        Metrics per model against the baselines (``epoxy_core.metrics.compare_models``: index = models,
        columns = metrics); a table plus a chart of ``comparison_metric``.
    class_balance : array-like of shape (n_classes,), optional
        The class balance (prior) the label model used.
    date : date, datetime or str, optional
        Shown under the title; default today.
    headline : str, optional
        One sentence for the top of the report (e.g. ``Headline.text(class_names)``).
    metrics : mapping, optional
        Key figures shown as a table (e.g. ``{"dev accuracy": 0.91, "coverage": 0.87}``).
    method : mapping, optional
        Settings of the run, shown as a table (label model, thresholds, end model, ...).
    notes : sequence of str, optional
        Caveats shown as a list (e.g. how the headline treats uncovered rows).
    proba : array-like of shape (n_rows, n_classes), optional
        Probabilistic labels; adds a confidence histogram.
    comparison_metric : str, default "accuracy"
        The column of ``comparison`` to chart.
    charts : mapping of str to Altair chart or Vega-Lite dict, optional
        More charts, by title (e.g. a map from :func:`epoxy_core.charts.map_by_class`).

    Returns
    -------
    str
        The HTML document (about 1 MB: the vega scripts are most of it).

    Raises
    ------
    ValueError
        If ``lf_summary`` is not a DataFrame, ``class_balance`` does not have one value per class, or a
        chart cannot be turned into a Vega-Lite spec.
    """
    from epoxy_core import charts as chart_builders

    class_names = [str(c) for c in class_names]
    if not isinstance(project, str) or not project.strip():
        raise ValueError("project must be a non-empty name.")
    if not isinstance(lf_summary, pd.DataFrame):
        raise ValueError(f"lf_summary must be a DataFrame (analysis.lf_summary), got {type(lf_summary).__name__}.")
    if comparison is not None and not isinstance(comparison, pd.DataFrame):
        raise ValueError(f"comparison must be a DataFrame (metrics.compare_models), got {type(comparison).__name__}.")
    if isinstance(notes, str):
        notes = [notes]
    sections: list[list[str]] = []  # each: a heading block, then its charts
    n_charts = 0

    def section(html_text: str) -> None:
        sections.append([html_text])

    def chart(figure: Any, where: str) -> None:
        nonlocal n_charts
        try:
            spec = _spec(figure)
        except (TypeError, ValueError) as error:
            raise ValueError(f"chart {where!r} is not a Vega-Lite spec: {error}") from None
        target = f"chart-{n_charts}"
        n_charts += 1
        sections[-1].append(
            f'<div class="chart" id="{target}"></div>'
            f'<script type="application/json" class="vl-spec" data-target="{target}">{_json_for_script(spec)}</script>'
        )

    if headline:
        section(f'<p class="headline">{_esc(headline)}</p>')
    if metrics:
        section("<h2>Key figures</h2>" + _key_values(metrics))
    if dataset:
        section("<h2>Data</h2>" + _key_values(dataset))
    section("<h2>Method</h2>" + _method_paragraphs(lf_summary, class_names) + (_key_values(method) if method else ""))

    if comparison is not None and not comparison.empty:
        section("<h2>Results against the baselines</h2>" + _comparison_table(comparison))
        if comparison_metric in comparison.columns:
            chart(chart_builders.model_comparison(comparison, comparison_metric), "results")

    section(f"<h2>Labeling functions ({len(lf_summary)})</h2>" + _lf_table(lf_summary))
    if len(lf_summary) and {"coverage", "extended_coverage"} <= set(lf_summary.columns):
        chart(chart_builders.coverage_lift(lf_summary), "coverage")
    accuracy_columns = {"estimated_accuracy", "empirical_accuracy", "extended_empirical_accuracy"}
    if len(lf_summary) and accuracy_columns & set(lf_summary.columns):
        chart(chart_builders.accuracy_comparison(lf_summary), "LF accuracy")

    if class_balance is not None:
        balance = np.asarray(class_balance, dtype=float)
        if balance.shape != (len(class_names),):
            raise ValueError(f"class_balance needs one value per class ({len(class_names)}); got {balance.shape}.")
        rows = [[(name, False), (f"{p:.1%}", True)] for name, p in zip(class_names, balance.tolist(), strict=True)]
        section("<h2>Class balance</h2>" + _table(["class", "prior"], rows))
        chart(chart_builders.class_balance(balance, class_names), "class balance")
    if proba is not None:
        section("<h2>Confidence</h2>")
        chart(chart_builders.confidence_histogram(np.asarray(proba, dtype=float)), "confidence")
    for title, figure in (charts or {}).items():
        section(f"<h2>{_esc(title)}</h2>")
        chart(figure, str(title))
    if notes:
        section('<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>")

    try:
        from importlib.metadata import version

        generator = f"Epoxy Studio {version('epoxy-studio')}"
    except Exception:
        generator = "Epoxy Studio"
    title = _esc(project)
    document = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{_esc(generator)}">',
        f"<title>{title} — labeling report</title>",
        f"<style>{_CSS}</style>",
        "</head><body><main>",
        f"<h1>{title}</h1>",
        f'<p class="meta">Labeling report · {_esc(_date_text(date))} · {_esc(generator)}</p>',
        *(part for parts in sections for part in parts),
        f'<p class="muted">Method: {_esc(CITATION)}</p>',
        "</main>",
    ]
    if n_charts:
        document += [f"<script>{vega_bundle()}</script>", f"<script>{_RENDER_JS}</script>"]
    document.append("</body></html>")
    return "\n".join(document)
