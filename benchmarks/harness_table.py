"""The one table ``make bench`` prints: every route as a ratio to the DuckDB peer, PASS/FAIL."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness_measure import Route


@dataclass
class Row:
    """One line of the table.

    Attributes:
        run: which data set ("40 files", "520 files") or "" for rows about both.
        route: what was measured.
        k: repetitions (the wall time is their median).
        seconds: median wall time; None when not measured.
        peer: the DuckDB peer's median on the same files (the ratio's denominator).
        target_ratio: the largest allowed ``seconds / peer``; None: no time target.
        rss_mb, pss_mb: max RSS of one process, peak tree PSS (MB).
        target_rss_mb: the largest allowed max RSS; None: no memory target.
        ok: an extra verdict (tables equal, work check, a plugin's own target).
        note: what the reader should know (work check, why not measured).
    """

    run: str
    route: str
    k: int = 0
    seconds: float | None = None
    peer: float | None = None
    target_ratio: float | None = None
    rss_mb: float | None = None
    pss_mb: float | None = None
    target_rss_mb: float | None = None
    ok: bool | None = None
    note: str = ""

    @classmethod
    def of(cls, run: str, route: Route, peer: float | None, **targets: object) -> Row:
        """A row from a measured :class:`Route` (a failed route says why)."""
        row = cls(run, route.name, len(route.samples), route.wall, peer,
                  rss_mb=route.max_rss_mb, pss_mb=route.tree_pss_mb, **targets)  # fmt: skip
        if route.error:
            row.ok = False
            row.note = f"failed: {route.error.splitlines()[0][:200]}"
        return row

    @property
    def ratio(self) -> float | None:
        if self.seconds is None or not self.peer:
            return None
        return self.seconds / self.peer

    @property
    def result(self) -> str:
        """PASS, FAIL, or "—" when the row has no target."""
        checks = []
        if self.target_ratio is not None:
            checks.append(self.ratio is not None and self.ratio <= self.target_ratio)
        if self.target_rss_mb is not None:
            checks.append(self.rss_mb is not None and self.rss_mb <= self.target_rss_mb)
        if self.ok is not None:
            checks.append(self.ok)
        if not checks:
            return "—"
        return "PASS" if all(checks) else "FAIL"

    def cells(self) -> tuple[str, ...]:
        target = []
        if self.target_ratio is not None:
            target.append(f"≤ {self.target_ratio:.2f}x")
        if self.target_rss_mb is not None:
            target.append(f"≤ {self.target_rss_mb:.0f} MB")
        return (
            self.run,
            self.route,
            str(self.k) if self.k else "",
            _seconds(self.seconds),
            "" if self.ratio is None else _ratio(self.ratio),
            ", ".join(target),
            "" if self.rss_mb is None else f"{self.rss_mb:.0f} MB",
            "" if self.pss_mb is None else f"{self.pss_mb:.0f} MB",
            self.result,
            self.note,
        )


def _seconds(value: float | None) -> str:
    """Seconds, or milliseconds below 0.1 s (a warm API call must not read "0.00 s")."""
    if value is None:
        return "—"
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.1f} ms"


def _ratio(value: float) -> str:
    """Three decimals, or three significant digits for tiny ratios."""
    return f"{value:.3f}x" if value >= 0.01 else f"{value:.2g}x"


HEADER = ("run", "route", "K", "wall", "x DuckDB", "target", "max RSS", "tree PSS",
          "result", "note")  # fmt: skip


def render(rows: list[Row]) -> list[str]:
    """The rows as aligned text lines, header first."""
    cells = [row.cells() for row in rows]
    widths = [max(len(r[i]) for r in [HEADER, *cells]) for i in range(len(HEADER) - 1)]
    numeric = {2, 3, 4, 6, 7}

    def line(values: tuple[str, ...]) -> str:
        parts = [v.rjust(w) if i in numeric else v.ljust(w)
                 for i, (v, w) in enumerate(zip(values[:-1], widths, strict=True))]
        return "  ".join([*parts, values[-1]]).rstrip()

    return [line(HEADER), line(tuple("-" * len(h) for h in HEADER)), *map(line, cells)]


def machine() -> str:
    """CPU, memory and library versions, for the table's header."""
    cpu = "unknown CPU"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = []
    for module in ("duckdb", "msgspec", "numpy", "pyarrow", "matplotlib", "distributed"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            versions.append(f"{module} missing")
    return (f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, {cpu}; Python "
            f"{sys.version.split()[0]}; {', '.join(versions)}")  # fmt: skip


def report(rows: list[Row], header: list[str], quick: bool) -> str:
    """The whole printout: title, data and method lines, the table, the verdict count."""
    title = "pokeviz benchmark"
    if quick:
        title += " (QUICK: tiny data, the targets mean nothing at this size)"
    verdicts = [row.result for row in rows]
    out = [
        f"{title} — {time.strftime('%Y-%m-%d %H:%M')}",
        *header,
        machine(),
        "wall = median over K runs from process start (imports included); x DuckDB = wall / "
        "the one-pass DuckDB read_json peer (2 threads) on the same files, this invocation",
        "max RSS = largest single process (wait4 ru_maxrss); tree PSS = peak summed PSS of "
        "the process and its workers (/proc every 50 ms); memory = max over the K runs",
        "",
        *render(rows),
        "",
        f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL, "
        f"{verdicts.count('—')} without target; load average at the end: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} (other work on the machine "
        "inflates wall times)",
    ]
    return "\n".join(out)
