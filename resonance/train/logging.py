"""Metrics to a CSV file (long format: step, epoch, split, name, value) and to TensorBoard.

Only rank 0 writes. On resume, rows logged after the checkpoint's step by the interrupted run are
dropped (CSV rewritten atomically; TensorBoard events purged from that step), so the record of a
resumed run is the record of an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from resonance.io.atomic import write_text_atomic

FIELDS = ("step", "epoch", "split", "name", "value")


class MetricsLogger:
    def __init__(self, run_dir: str | Path, enabled: bool = True, tensorboard: bool = True,
                 resume_step: int | None = None) -> None:
        self.enabled = enabled
        self.path = Path(run_dir) / "metrics.csv"
        self.writer = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and self.path.exists():
            with open(self.path, newline="", encoding="utf-8") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
            buffer = io.StringIO()
            out = csv.DictWriter(buffer, FIELDS, lineterminator="\n")
            out.writeheader()
            out.writerows(rows)
            write_text_atomic(self.path, buffer.getvalue())
        elif not self.path.exists() or resume_step is None:
            write_text_atomic(self.path, ",".join(FIELDS) + "\n")
        self.handle = open(self.path, "a", newline="", encoding="utf-8")
        self.csv = csv.writer(self.handle, lineterminator="\n")
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=resume_step)

    def log(self, step: int, epoch: int, split: str, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        for name, value in metrics.items():
            self.csv.writerow([step, epoch, split, name, f"{float(value):.8g}"])
            if self.writer is not None:
                self.writer.add_scalar(f"{split}/{name}", float(value), step)
        self.handle.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        self.handle.close()
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, str]]:
    """The rows of a run's ``metrics.csv``."""
    with open(Path(run_dir) / "metrics.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
