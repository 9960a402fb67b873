"""Download progress: a bar on a terminal, otherwise one log line every few seconds (bytes, rate, ETA)."""

from __future__ import annotations

import os
import threading
import time

from aimgen.cache.fsutil import human_bytes
from aimgen.console import Console, console as default_console

INTERVAL_ENV = "AIMGEN_PROGRESS_INTERVAL"


class Progress:
    def __init__(self, *, label: str, total_bytes: int, files_total: int, interval: float | None = None,
                 out: Console | None = None):
        self.label = label
        self.total = total_bytes
        self.files_total = files_total
        self.out = out or default_console
        self.bar = self.out.is_terminal and self.out.format() == "text"
        self.interval = interval if interval is not None else float(os.environ.get(INTERVAL_ENV) or 5.0)
        self.done = 0  # bytes present: ours plus files that other processes finished
        self.ours = 0  # bytes this process transferred
        self.files_done = 0
        self.waiting = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- updates (any thread) ----------------------------------------------------------------------------------
    def add(self, n: int) -> None:
        with self._lock:
            self.done += n
            self.ours += n

    def present(self, n: int) -> None:
        """Bytes already on disk (a resumed partial file): counted as done, not as transferred."""
        with self._lock:
            self.done += n

    def file_done(self, by_others: int = 0) -> None:
        with self._lock:
            self.files_done += 1
            self.done += by_others

    def set_waiting(self, n: int) -> None:
        self.waiting = n

    # --- rendering ---------------------------------------------------------------------------------------------
    def __enter__(self) -> Progress:
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.bar:
            self._render_bar(final=True)
        else:
            self.out.info(f"{self.label}: transfer finished", event="cache.progress", **self.snapshot())

    def snapshot(self) -> dict:
        with self._lock:
            elapsed = max(1e-6, time.monotonic() - self._start)
            rate = self.ours / elapsed
            remaining = max(0, self.total - self.done)
            eta = remaining / rate if rate > 0 else None
            return {"bytes": self.done, "total_bytes": self.total, "rate_bytes_per_s": int(rate),
                    "eta_s": None if eta is None else round(eta, 1), "files_done": self.files_done,
                    "files_total": self.files_total, "waiting_on_others": self.waiting}

    def _run(self) -> None:
        period = 0.2 if self.bar else self.interval
        while not self._stop.wait(period):
            if self.bar:
                self._render_bar()
            else:
                self.out.info(f"{self.label}: downloading", event="cache.progress", **self.snapshot())

    def _render_bar(self, final: bool = False) -> None:
        s = self.snapshot()
        width = 30
        frac = min(1.0, s["bytes"] / self.total) if self.total else 1.0
        filled = int(frac * width)
        eta = "--:--" if s["eta_s"] is None else _clock(s["eta_s"])
        line = (f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {frac * 100:5.1f}% "
                f"{human_bytes(s['bytes'])}/{human_bytes(self.total)} {human_bytes(s['rate_bytes_per_s'])}/s "
                f"ETA {eta} files {s['files_done']}/{s['files_total']}")
        if s["waiting_on_others"]:
            line += f" (waiting on {s['waiting_on_others']} held by other pods)"
        stream = self.out.stream
        stream.write(line + "\x1b[K" + ("\n" if final else ""))  # erase what a longer previous line left
        stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
