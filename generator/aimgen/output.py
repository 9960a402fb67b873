"""Write an artifact to stdout or, atomically, to a file: a failed run never leaves a half-written file."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from aimgen.errors import EnvironmentProblem, InvalidInput


def write_artifact(text: str, out: str | None) -> None:
    if out in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(out)
    if target.is_dir():
        raise InvalidInput("output path is a directory; give a file name", file=str(target), path="-o")
    if target.exists() and not target.is_file():
        # /dev/null, /dev/stdout, a FIFO: written through. Replacing the node atomically would, as root,
        # swap /dev/null for a plain file.
        try:
            with open(target, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise InvalidInput(f"cannot write output: {exc.strerror}", file=str(target), path="-o") from None
        return
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        # The path is well formed but the filesystem refuses it (permissions, read-only, full): exit 4.
        raise EnvironmentProblem(f"cannot write output: {exc.strerror}", file=str(target), path="-o") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp creates 0600; an artifact gets the mode any new file would (0644 under the usual umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise EnvironmentProblem(f"cannot write output: {exc.strerror}", file=str(target), path="-o") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
