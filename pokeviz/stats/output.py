"""``pokeviz stats`` output: a table, CSV, JSON or a LaTeX ``tabular``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from .aggregate import AGGREGATES, Interval
from .compute import StatsResult
from .scores import LOWER_IS_BETTER

#: ``--format`` choices.
TEXT_FORMATS = ("table", "csv", "json", "latex")


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if abs(value) < 1e6 else f"{value:,.0f}"


def _with_ci(value: float | None, ci: Interval | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if ci is None:
        return f"{_number(value, digits)} (no CI)"
    return f"{_number(value, digits)} [{_number(ci[0], digits)}, {_number(ci[1], digits)}]"


def _columns(rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w)
                      for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in rows]


def table_lines(result: StatsResult) -> list[str]:
    """The human-readable output: aggregates, P(X > Y), milestones, per-run scores."""
    out = [f"metric   {result.metric}: exact mean over every entry of {result.at_text}",
           "         (IQM = 25 % trimmed mean; [95 % stratified bootstrap CI]; "
           "P(X > Y) over run pairs, ties ½)", ""]
    gap = any(a.optimality_gap is not None for a in result.aggregates)
    header = ["variant", "runs", "IQM [95% CI]", "mean [95% CI]", "median [95% CI]"]
    if gap:
        header.append("optimality gap [95% CI]")
    rows = [header]
    for a in result.aggregates:
        row = [a.variant, str(a.runs), _with_ci(a.iqm, a.iqm_ci), _with_ci(a.mean, a.mean_ci),
               _with_ci(a.median, a.median_ci)]
        if gap:
            row.append(_with_ci(a.optimality_gap, a.optimality_gap_ci))
        rows.append(row)
    out += _columns(rows, {1})
    if result.improvement:
        out.append("")
        rows = [["P(X > Y)", "p", "95% CI"]]
        rows += [[f"P({i.x} > {i.y})", f"{i.p:.3f}",
                  f"[{i.ci[0]:.3f}, {i.ci[1]:.3f}]" if i.ci else "(no CI)"]
                 for i in result.improvement]
        out += _columns(rows, {1})
    milestones = [s for v in result.variants for s in result.milestones.get(v, [])]
    if milestones:
        out.append("")
        rows = [["milestone", "variant", "reached", "first global step: mean [95% CI]"]]
        # Milestones in the order they are first reached (by any variant), then variants.
        first: dict[tuple[str, int], float] = {}
        for s in milestones:
            first[(s.kind, s.key)] = min(first.get((s.kind, s.key), s.mean), s.mean)
        rank = {v: i for i, v in enumerate(result.variants)}
        milestones.sort(key=lambda s: (s.kind != "map", first[(s.kind, s.key)] if s.kind ==
                                       "map" else s.key, s.key, rank[s.variant]))
        rows += [[s.label, s.variant, f"{s.reached}/{s.runs}", _with_ci(s.mean, s.ci, 0)]
                 for s in milestones]
        out += _columns(rows, {2})
    out.append("")
    rows = [["run", "score", "scored file steps"]]
    for r in result.runs:
        index = r.file_at(result.at)
        score = r.score(result.at)
        steps = (f"{int(r.file_first[index]):,} … {int(r.file_last[index]):,}"
                 if index is not None else f"ends at {r.last_step:,}")
        rows.append([r.name, _number(score, 3) if score is not None else "left out", steps])
    out += _columns(rows, {1})
    return out


def summary_lines(result: StatsResult) -> list[str]:
    """Warnings, files written, ingest and time: what every output format ends with."""
    out = [f"warning  {w}" for w in result.warnings]
    out.append(f"ingest   {result.files_read} log file{'s' if result.files_read != 1 else ''} "
               "read (the rest cached)")
    out += [f"wrote    {p}" for p in result.paths]
    out.append(f"time     {result.seconds:.2f} s in total")
    return out


def as_json(result: StatsResult) -> dict[str, Any]:
    """The JSON document: aggregates, improvement, milestones (per run), metric, at."""
    def ci(value: Interval | None) -> list[float] | None:
        return None if value is None else [value[0], value[1]]

    aggregates = []
    for a in result.aggregates:
        row: dict[str, Any] = {"variant": a.variant, "runs": a.runs}
        for name in AGGREGATES:
            row[name] = getattr(a, name)
            row[f"{name}_ci"] = ci(getattr(a, f"{name}_ci"))
        if a.optimality_gap is not None:
            row["optimality_gap"] = a.optimality_gap
            row["optimality_gap_ci"] = ci(a.optimality_gap_ci)
        aggregates.append(row)
    return {
        "metric": result.metric,
        "at": result.at,
        "aggregates": aggregates,
        "improvement": [{"x": i.x, "y": i.y, "p": i.p, "ci": ci(i.ci)}
                        for i in result.improvement],
        "milestones": [{"variant": r.variant, "run": r.run.timestamp, "kind": m.kind,
                        "key": m.key, "name": m.name, "first_global_step": m.first_global_step}
                       for r in result.runs for m in r.milestones],
        "milestone_summary": [
            {"variant": s.variant, "kind": s.kind, "key": s.key, "name": s.name,
             "reached": s.reached, "runs": s.runs, "mean": s.mean, "ci": ci(s.ci)}
            for v in result.variants for s in result.milestones.get(v, [])],
        "scores": [{"variant": r.variant, "run": r.run.timestamp,
                    "score": r.score(result.at)} for r in result.runs],
    }


def as_csv(result: StatsResult) -> str:
    """The aggregates, one row per variant (lower and upper CI bounds as columns)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = list(AGGREGATES) + (["optimality_gap"] if any(
        a.optimality_gap is not None for a in result.aggregates) else [])
    writer.writerow(["metric", "at", "variant", "runs"]
                    + [f"{n}{s}" for n in names for s in ("", "_ci_low", "_ci_high")])
    for a in result.aggregates:
        row: list[Any] = [result.metric, result.at, a.variant, a.runs]
        for n in names:
            value, interval = getattr(a, n), getattr(a, f"{n}_ci")
            row += [repr(value) if value is not None else "",
                    *((repr(interval[0]), repr(interval[1])) if interval else ("", ""))]
        writer.writerow(row)
    return buffer.getvalue()


def _latex_escape(text: str) -> str:
    """Variant names in LaTeX: the characters that would break the table escaped."""
    for a, b in (("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"), ("$", r"\$")):
        text = text.replace(a, b)
    return text


def as_latex(result: StatsResult) -> str:
    """A ``tabular`` to paste into a paper: IQM, mean and median [95 % CI] per variant,
    the best point estimate of each column in bold."""
    lower = result.metric in LOWER_IS_BETTER
    best = {}
    for name in AGGREGATES:
        values = [getattr(a, name) for a in result.aggregates]
        best[name] = (min(values) if lower else max(values)) if values else None

    def cell(a: Any, name: str) -> str:
        value, interval = getattr(a, name), getattr(a, f"{name}_ci")
        text = _number(value)
        if value == best[name]:
            text = rf"\textbf{{{text}}}"
        return text + (f" [{_number(interval[0])}, {_number(interval[1])}]" if interval else "")

    lines = [r"\begin{tabular}{lrlll}", r"\toprule",
             r"Variant & Runs & IQM [95\% CI] & Mean [95\% CI] & Median [95\% CI] \\",
             r"\midrule"]
    for a in result.aggregates:
        lines.append(f"{_latex_escape(a.variant)} & {a.runs} & "
                     + " & ".join(cell(a, n) for n in AGGREGATES) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              f"% {result.metric}: exact mean over every entry of {result.at_text}; "
              "95% stratified bootstrap CIs; best in bold", ""]
    return "\n".join(lines)


def render(result: StatsResult, fmt: str) -> str:
    """The text of one ``--format``."""
    if fmt == "table":
        return "\n".join(table_lines(result)) + "\n"
    if fmt == "json":
        return json.dumps(as_json(result), indent=2) + "\n"
    if fmt == "csv":
        return as_csv(result)
    if fmt == "latex":
        return as_latex(result)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(TEXT_FORMATS)}")
