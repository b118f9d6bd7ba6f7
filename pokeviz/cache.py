"""Bring a run's Parquet cache under ``<run>/plots/.cache/`` up to date: staleness, ingest, packs.

The incremental contract (the same words are in ``cache/README.md``):

* Each log file version is read once. Its summary (three tables) goes into a *pack*
  (``sidecars/pack-<id>.<kind>.parquet``, the rows of many log files), written by the
  updating process from the tables its workers hand back. Until then, each second, the
  files read since the last checkpoint are saved in a *checkpoint pack* that the
  manifest names, so a killed update keeps its progress. A Dask worker, or the
  updating process reading files itself (one job or one file), writes three *loose*
  sidecars (``sidecars/<stem>.<size_bytes>-<mtime_ns>.<kind>.parquet``) instead, each a
  checkpoint of its own. Small packs are merged into larger ones, so a run of N files
  has about log2(N) packs and adding one file rewrites only small packs.
* A log file is **stale**, and read again, when it is not in the manifest, when its size
  or mtime differ from the manifest's, or when its Parquet files are missing or not
  Parquet. Otherwise it is not opened at all. :func:`stale_files` is that rule.
* A **partial** file (cut off while training writes it) keeps its complete entries and
  is stale again as soon as it grows.
* A log file that disappears from ``json_logs/`` is dropped from the manifest; its
  rows are dropped from the packs when they are next merged.
* A manifest of another ``CACHE_VERSION`` (or one that cannot be read) is discarded and
  every file is read again, with a note.
* Nothing is written when nothing changed, so a read-only run with a current cache can
  be read. A stale cache that cannot be written is served as it is, with a note.
* Writes are atomic; packs and the manifest also durable (temporary file, fsync, rename,
  fsync of the folder). Loose sidecars and checkpoint packs skip the fsyncs: a power
  loss can leave one empty, and the staleness check then reads its log files again.
  The manifest only names Parquet files that were completely written, so a process
  killed at any moment leaves a cache the next run reads correctly. One writer at a
  time per run (:mod:`pokeviz.lock`); files the manifest no longer names are deleted
  by the next writer, and temporary files of dead processes after a minute.
"""

from __future__ import annotations

import errno
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import lock
from .cache_jobs import ingest_job, manifest_entry, results
from .discover import Run, list_log_files, printable
from .errors import CacheError
from .manifest import (
    CACHE_VERSION,
    KINDS,
    MANIFEST,
    PACK_PREFIX,
    SIDECARS,
    Manifest,
    load_manifest,
    parquet_ok,
    read_manifest,
    sidecar_paths,
    write_manifest,
)
from .outputs import os_error_message, remove_stale_temps
from .packs import file_positions, load_tables, pack_loose, remove_unnamed

__all__ = [
    "CACHE_VERSION", "MANIFEST", "PACK_PREFIX", "SIDECARS", "CacheUpdate", "cached_versions",
    "clear_cache", "file_positions", "file_versions", "ingest_job", "load_tables",
    "manifest_entry", "read_manifest", "stale_files", "update_cache",
]

#: Seconds between manifest writes while many files are read (and always at the end).
MANIFEST_WRITE_SECONDS = 1.0
#: Rows held in memory for the next pack before it is written (bounds the writer's memory).
PACK_ROWS = 300_000
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)

Version = tuple[int, int]


@dataclass
class CacheUpdate:
    """What :func:`update_cache` did. ``problems`` lists (file, status, message)."""

    files: int = 0
    new: int = 0
    reread: int = 0
    unchanged: int = 0
    removed: int = 0
    ingested: list[str] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    parsers: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Staleness


def file_versions(run: Run, paths: Iterable[Path] | None = None) -> dict[str, Version]:
    """Each log file's (size_bytes, mtime_ns) now, in file order; vanished files left out.

    Args:
        run: the run.
        paths: its log files if already listed (default: :func:`list_log_files`).

    Raises:
        NoLogFilesError: ``json_logs/`` is missing or cannot be listed.
    """
    versions = {}
    for path in list_log_files(run) if paths is None else paths:
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat: dropped next time
        versions[path.name] = (stat.st_size, stat.st_mtime_ns)
    return versions


def cached_versions(run: Run) -> dict[str, Version]:
    """Each cached log file's (size_bytes, mtime_ns), from the manifest (empty without one)."""
    return {
        name: (entry["size_bytes"], entry["mtime_ns"])
        for name, entry in load_manifest(run.cache_dir).files.items()
    }


@dataclass
class _Plan:
    manifest: Manifest
    stale: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    new: int = 0
    reread: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


def _plan(
    cache_dir: Path,
    versions: dict[str, Version],
    *,
    only: Iterable[str] | None = None,
    rebuild: bool = False,
) -> _Plan:
    plan = _Plan(load_manifest(cache_dir))
    files = plan.manifest.files
    if plan.manifest.note:
        plan.notes.append(plan.manifest.note)
    plan.removed = [name for name in files if name not in versions]
    packs_ok = {
        pack: parquet_ok(list(sidecar_paths(cache_dir, pack).values()))
        for pack in plan.manifest.packs
    }
    wanted = None if only is None else set(only)
    for name, version in versions.items():
        cached = files.get(name)
        if wanted is not None and name not in wanted:
            plan.unchanged += cached is not None
            continue
        fresh = (
            cached is not None
            and not rebuild
            and (cached.get("size_bytes"), cached.get("mtime_ns")) == version
        )
        if fresh:
            assert cached is not None
            pack = cached.get("pack")
            if pack is not None:
                readable = packs_ok.get(pack, False)
            else:
                readable = parquet_ok(list(sidecar_paths(cache_dir, cached["sidecar"]).values()))
            if not readable:
                plan.notes.append(
                    f"{printable(name)}: cached summary unreadable; reading the file again"
                )
                fresh = False
        if fresh:
            plan.unchanged += 1
        else:
            plan.stale.append(name)
            plan.new += cached is None
            plan.reread += cached is not None
    return plan


def stale_files(run: Run, versions: dict[str, Version] | None = None) -> list[str]:
    """The log files :func:`update_cache` would read, in file order (the staleness rule).

    Args:
        run: the run.
        versions: the files' current versions (default: :func:`file_versions`).

    Cost: one manifest read, one ``stat`` per log file (without ``versions``) and two
    4-byte reads per Parquet file checked (a few per run once packed). Writes nothing.
    """
    versions = file_versions(run) if versions is None else versions
    return _plan(run.cache_dir, versions).stale


# ---------------------------------------------------------------------------
# Bringing a run's cache up to date


def update_cache(
    run: Run,
    *,
    jobs: int | None = None,
    only: Iterable[str] | None = None,
    rebuild: bool = False,
    progress: Callable[[int, int], Any] | None = None,
    fast_path_max_bytes: int | None = None,
    order: Callable[[list[Path]], Iterable[Path]] | None = None,
    executor: Executor | None = None,
) -> CacheUpdate:
    """Bring the cache of ``run`` up to date with its log files.

    Args:
        run: the run (see :func:`pokeviz.discover.resolve_run`).
        jobs: worker processes for reading files (default: number of CPU cores).
        only: check and read only these file names; every other file keeps its cached
            state, or stays out of the cache until a later update if it has none
            (deleted files are still dropped). Used by ``watch``.
        rebuild: read every file again, whatever the manifest says.
        progress: called as ``progress(bytes_done, bytes_total)`` after each file.
        fast_path_max_bytes: passed to :func:`pokeviz.ingest.ingest_file` (default:
            its ``FAST_PATH_MAX_BYTES``).
        order: reorders the stale files before they are read (tests use it to show
            that the result does not depend on processing order).
        executor: run :func:`ingest_job` on it (e.g. a Dask ``Client.get_executor()``)
            instead of local processes. The cache is identical either way.

    Returns:
        Counts of new, re-read, unchanged and removed files, problems and notes.

    Cost: one ``stat`` per log file and a few small reads; each stale file is read once;
    packs are merged so that the work per update is O(changed files · log files).
    Deterministic: the tables depend only on the log files. Writes nothing when nothing
    changed.

    Raises:
        NoLogFilesError: ``json_logs/`` is missing or cannot be listed.
        CacheError: there is no cache and the cache folder cannot be created.
        OutputError: a cache file cannot be written (disk full, …); the cache keeps its
            previous state.
    """
    started = time.perf_counter()
    cache_dir = run.cache_dir
    logs = {path.name: path for path in list_log_files(run)}
    versions = file_versions(run, logs.values())
    plan = _plan(cache_dir, versions, only=only, rebuild=rebuild)
    loose = any("sidecar" in e for e in plan.manifest.files.values())
    needs_write = bool(plan.stale or plan.removed or plan.manifest.note)
    if not needs_write and not (loose and os.access(cache_dir / SIDECARS, os.W_OK)):
        remove_stale_temps(cache_dir)
        remove_stale_temps(cache_dir / SIDECARS)
        return _report(plan, plan.manifest, len(logs), started)
    try:
        (cache_dir / SIDECARS).mkdir(parents=True, exist_ok=True)
        holder = lock.writer(cache_dir)
        holder.__enter__()
    except OSError as exc:
        if plan.manifest.raw is None or exc.errno not in _READ_ONLY:
            raise CacheError(
                f"{os_error_message(cache_dir, exc)} (cannot create the cache)"
            ) from exc
        report = _report(plan, plan.manifest, len(logs), started)
        report.notes.append(
            f"{os_error_message(cache_dir, exc)}; showing the cache as it is, without "
            f"{len(plan.stale)} changed log file(s) and {len(plan.removed)} removed one(s)"
        )
        return report
    try:
        with lock.deleting(cache_dir):
            pass  # creates the state lock before any reader could miss it
        for folder in (run.plots_dir, cache_dir, cache_dir / SIDECARS):
            remove_stale_temps(folder)
        # Another writer may have done the work while this one waited for the lock. The
        # files listed above are stat'ed again (files new since then wait for the next
        # update: only listed files are read).
        plan = _plan(cache_dir, file_versions(run, logs.values()), only=only, rebuild=rebuild)
        manifest = plan.manifest
        for name in plan.removed:
            del manifest.files[name]
        stale = [logs[name] for name in plan.stale if name in logs]
        if order is not None:
            stale = list(order(stale))
        writer = _Writer(cache_dir, manifest, progress, versions)
        problems = writer.ingest(stale, jobs, fast_path_max_bytes, executor)
        writer.pack(merge=True)
        write_manifest(cache_dir, manifest)
        with lock.deleting(cache_dir):
            remove_unnamed(cache_dir, manifest)
    finally:
        holder.__exit__(None, None, None)
    report = _report(plan, manifest, len(logs), started)
    report.ingested = writer.ingested
    report.parsers = dict(Counter(manifest.files[n]["parser"] for n in writer.ingested
                                  if n in manifest.files))
    report.problems.extend(problems)
    return report


def _report(plan: _Plan, manifest: Manifest, files: int, started: float) -> CacheUpdate:
    report = CacheUpdate(
        files=files, new=plan.new, reread=plan.reread, unchanged=plan.unchanged,
        removed=len(plan.removed), notes=list(plan.notes),
    )
    for name, entry in manifest.files.items():
        shown = printable(name)
        if entry["status"] != "ok":
            report.problems.append((shown, entry["status"], entry.get("error") or ""))
        else:
            notes = [entry["warning"]] if entry.get("warning") else []
            if entry.get("bad_values"):
                notes.append(f"{entry['bad_values']} bad values read as NULL")
            if notes:
                report.problems.append((shown, "ok", "; ".join(notes)))
    report.elapsed_seconds = time.perf_counter() - started
    return report


class _Writer:
    """Reads stale files through workers and records them: manifest checkpoints, packs."""

    def __init__(
        self,
        cache_dir: Path,
        manifest: Manifest,
        progress: Callable[[int, int], Any] | None,
        versions: dict[str, Version],
    ) -> None:
        self.cache_dir, self.manifest, self.progress = cache_dir, manifest, progress
        self.versions = versions
        self.buffer: dict[str, dict[str, Any]] = {}
        self.buffered_rows = 0
        self.ingested: list[str] = []
        self.last_write = time.monotonic()
        #: recorded files whose rows are in no file yet (their worker wrote nothing)
        self.unsaved: list[str] = []
        #: files of the buffer saved in a checkpoint pack → that pack; its file count
        self.checkpoints: dict[str, str] = {}
        self.checkpoint_packs: dict[str, int] = {}

    def ingest(
        self, stale: list[Path], jobs: int | None, fast_path_max_bytes: int | None,
        executor: Executor | None,
    ) -> list[tuple[str, str, str]]:
        """Read ``stale``; return problems of files that could not be read at all."""
        sizes = {p: self.versions.get(p.name, (0, 0))[0] for p in stale}
        total, done = sum(sizes.values()), 0
        problems = []
        for path, result in results(stale, self.cache_dir, jobs, fast_path_max_bytes, executor):
            if isinstance(result, BaseException):
                problems.append((printable(path.name), "error",
                                 f"not read ({type(result).__name__}: {result}); "
                                 "it is read again at the next update"))
            else:
                self.record(result)
            done += sizes[path]
            if self.progress is not None:
                self.progress(done, total)
        return problems

    def record(self, result: dict[str, Any]) -> None:
        name, entry = result["file"], result["entry"]
        self.manifest.files[name] = entry
        self.buffer[name] = result["tables"]
        if not result.get("written", True):
            self.unsaved.append(name)
        self.buffered_rows += sum(t.num_rows for t in result["tables"].values())
        self.ingested.append(name)
        if self.buffered_rows >= PACK_ROWS:
            # Gather what was read so far; merging with older packs waits for the end,
            # when the files this update reads again no longer keep them alive.
            self.pack(merge=False)
        if time.monotonic() - self.last_write >= MANIFEST_WRITE_SECONDS:
            self.checkpoint()

    def pack(self, *, merge: bool) -> None:
        """Write the buffer as one pack (see :func:`pokeviz.packs.pack_loose`)."""
        pack_loose(self.cache_dir, self.manifest, self.buffer, merge=merge)
        self.buffered_rows = 0
        self.unsaved.clear()
        self.checkpoints.clear()
        self.checkpoint_packs.clear()

    def checkpoint(self) -> None:
        """Write the manifest, so that a killed update keeps what it has read so far.

        Files whose worker wrote nothing are first saved together in one *checkpoint
        pack* (no fsync, like the loose sidecars it stands for: a power loss leaves it
        broken and its files are read again). The manifest written names that pack; the
        one in memory keeps them loose until the buffer becomes a real pack, so the
        checkpoint packs are never merged or read back and are deleted at the end.
        """
        from .manifest import new_pack_name
        from .sidecars import gather, write_tables

        if self.unsaved:
            pack = new_pack_name()
            write_tables(self.cache_dir, pack, {
                kind: gather([self.buffer[name][kind] for name in self.unsaved], kind)
                for kind in KINDS
            }, durable=False)
            self.checkpoints.update(dict.fromkeys(self.unsaved, pack))
            self.checkpoint_packs[pack] = len(self.unsaved)
            self.unsaved.clear()
        files = self.manifest.files
        if self.checkpoints:
            files = dict(files)
            for name, pack in self.checkpoints.items():
                saved = {key: value for key, value in files[name].items() if key != "sidecar"}
                files[name] = {**saved, "pack": pack}
        shown = Manifest(files=files, packs={**self.manifest.packs, **self.checkpoint_packs},
                         raw=self.manifest.raw)
        write_manifest(self.cache_dir, shown)
        self.manifest.raw = shown.raw
        self.last_write = time.monotonic()


def clear_cache(run: Run) -> None:
    """Delete a run's cache (the next update reads every file again)."""
    import shutil

    if run.cache_dir.exists():
        shutil.rmtree(run.cache_dir)

