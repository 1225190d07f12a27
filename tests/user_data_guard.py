"""The user's data stays the user's: what a test session did to ``REPO/.casepilot``.

``make run`` builds the user's index in ``.casepilot/`` (the default data directory), and the user's shell
may set ``CASEPILOT_*`` variables (another data directory, a Chroma server, an LLM, API keys). Tests use
neither: ``tests/conftest.py`` removes every ``CASEPILOT_*`` variable for the session and points
``CASEPILOT_DATA_DIR`` at a temporary directory, so whatever falls back to the defaults lands there.

This module watches ``.casepilot/`` from the moment ``tests/conftest.py`` is imported:

* in the test process, an audit hook (``sys.addaudithook``) records every open, listing, SQLite connection,
  mkdir, rename or removal of a path inside it, with the test that did it;
* for subprocesses as well (the CLI, ``casepilot serve``), its files with their sizes and modification times
  are listed before the session and compared after. SQLite's side files (``-wal``, ``-shm``, ``-journal``)
  are left out of that comparison: any reader creates or changes them, including a ``make run`` server the
  user has running beside the tests; what a writer changes reaches the database files themselves.

``tests/test_user_data_untouched.py`` (run last) and the end of the session fail when anything was seen.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

# Variables named CASEPILOT_* that configure the tests, not CasePilot; they are kept.
TEST_KNOBS = frozenset({"CASEPILOT_CHROMIUM"})

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

# Audit events that name paths, and how many of their first arguments are paths.
_PATH_EVENTS = {
    "open": 1, "os.listdir": 1, "os.scandir": 1, "sqlite3.connect": 1, "os.mkdir": 1, "os.rmdir": 1,
    "os.remove": 1, "os.rename": 2, "os.link": 2, "os.symlink": 2, "os.truncate": 1, "os.chmod": 1,
    "os.utime": 1, "os.chdir": 1, "shutil.rmtree": 1, "shutil.copyfile": 2, "shutil.copytree": 2,
    "shutil.move": 2, "glob.glob": 1,
}


def inherited_settings_vars(environ=os.environ) -> list[str]:
    """``CASEPILOT_*`` variables that would configure CasePilot (pydantic-settings ignores case)."""
    return sorted(k for k in environ if k.upper().startswith("CASEPILOT_") and k.upper() not in TEST_KNOBS)


class UserDataWatch:
    def __init__(self, root: Path):
        self.root = root
        self.real = os.path.realpath(root)
        self.current = "collection"
        self.touched: list[str] = []
        self._paused = False
        self.before = self.snapshot()
        sys.addaudithook(self._audit)

    @contextmanager
    def paused(self):
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def snapshot(self) -> dict[str, tuple[int, int]] | None:
        """{relative path: (size, mtime_ns)} of the files under the root ((0, 0) for a folder), or None."""
        with self.paused():
            if not self.root.exists():
                return None
            out = {}
            for dirpath, dirnames, filenames in os.walk(self.root):
                for name in dirnames:
                    out[str(Path(dirpath, name).relative_to(self.root))] = (0, 0)
                for name in filenames:
                    if name.endswith(SQLITE_SIDE_FILES):
                        continue
                    path = Path(dirpath, name)
                    try:
                        st = path.lstat()
                    except FileNotFoundError:
                        continue
                    out[str(path.relative_to(self.root))] = (st.st_size, st.st_mtime_ns)
            return out

    def changes(self) -> list[str]:
        after = self.snapshot()
        if self.before is None:
            return [f"{self.root} was created"] if after is not None else []
        if after is None:
            return [f"{self.root} was removed"]
        out = [f"{self.root / p} was created" for p in sorted(after.keys() - self.before.keys())]
        out += [f"{self.root / p} was removed" for p in sorted(self.before.keys() - after.keys())]
        out += [f"{self.root / p} was changed" for p in sorted(self.before.keys() & after.keys())
                if self.before[p] != after[p]]
        return out

    def problems(self) -> list[str]:
        return [*self.touched, *self.changes()]

    def _inside(self, arg) -> str | None:
        if isinstance(arg, int):  # a file descriptor
            return None
        path = os.fspath(arg)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if path.startswith("file:"):  # SQLite URI, e.g. file:/x/codes.sqlite?mode=ro (the read-only stores)
            path = unquote(path[5:].split("?", 1)[0].split("#", 1)[0])
            path = "/" + path[2:].split("/", 1)[-1] if path.startswith("//") else path  # file://host/x
        if ".casepilot" not in path:
            if os.path.isabs(path) or not os.getcwd().startswith(self.real):
                return None
        full = os.path.realpath(path)
        return full if full == self.real or full.startswith(self.real + os.sep) else None

    def _audit(self, event: str, args: tuple) -> None:
        n = _PATH_EVENTS.get(event)
        if n is None or self._paused:
            return
        try:
            for arg in args[:n]:
                hit = self._inside(arg)
                if hit:
                    self.touched.append(f"{self.current}: {event} {hit}")
        except Exception:  # an audit hook must never break the operation it watches
            pass
