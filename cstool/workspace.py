"""Finding, creating and locking a cstool workspace.

A workspace is a folder with ``cstool.yaml`` at its root, the SQLite database ``cstool.db``,
and the folders ``playbooks/``, ``email_templates/``, ``journeys/``, ``outbox/`` and optionally
``data/``. It is found by ``--workspace``, then ``CSTOOL_WORKSPACE``, then by walking up from the
current directory to the nearest ``cstool.yaml``, as git finds its repository.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.config import CONFIG_NAME, ResolvedConfig, default_yaml, resolve
from cstool.errors import EnvironmentProblem, InputError, LockHeld, NotFoundError

if TYPE_CHECKING:
    from cstool.store import Store

ENV_WORKSPACE = "CSTOOL_WORKSPACE"
DB_NAME = "cstool.db"
LOCK_NAME = ".cstool.lock"
STARTER_DIRS = ("playbooks", "email_templates", "journeys")


@dataclass(frozen=True)
class Workspace:
    """A located workspace and its resolved configuration."""

    root: Path
    resolved: ResolvedConfig

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    def relative(self, path: Path) -> str:
        """``path`` relative to the workspace when inside it, for friendly messages."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)

    @contextlib.contextmanager
    def open_store(self, *, write: bool = False) -> Iterator[Store]:
        """The workspace's store, closed afterwards; ``write`` also holds the write lock.

        Every command opens the store this way. Reading takes no lock and needs no write
        access to the workspace; writing takes the lock first, so that two writers never
        interleave, and is refused at once (exit 3) when the workspace is read-only.
        """
        from cstool.store import Store
        from cstool.store.core import read_only_problem, writable

        if write and self.db_path.exists() and not writable(self.db_path):
            raise read_only_problem(self.db_path)  # before the lock, which needs the folder
        with self.writing() if write else contextlib.nullcontext():
            store = Store.open(self.db_path, write=write)
            try:
                yield store
            finally:
                store.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the workspace's write lock; refuse at once if another process holds it."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / LOCK_NAME), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise LockHeld(
                "another cstool process is writing to this workspace",
                hint="wait for it to finish, then run the command again",
            ) from None
        except OSError as e:
            raise EnvironmentProblem(
                f"cannot create the workspace lock: {e.strerror}",
                hint="check that the workspace folder is writable",
            ) from None
        try:
            yield
        finally:
            lock.release()


def bundled(name: str) -> Path:
    """The folder of starter files shipped with cstool (``playbooks``, ``sample_data``...)."""
    packaged = Path(str(resources.files("cstool"))) / "_bundled" / name
    if packaged.is_dir():
        return packaged
    # An editable install runs from the source tree, where the folders sit at the top.
    source = Path(__file__).resolve().parent.parent / name
    if source.is_dir():
        return source
    raise EnvironmentProblem(
        f"the bundled {name}/ folder is missing from this installation",
        hint="reinstall cstool",
    )


def find_root(explicit: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Locate the workspace root by flag, then environment, then walking up from cwd."""
    env = os.environ if env is None else env
    if explicit is None and env.get(ENV_WORKSPACE):
        explicit = Path(env[ENV_WORKSPACE])
    if explicit is not None:
        root = explicit.expanduser().resolve()
        if not (root / CONFIG_NAME).is_file():
            raise NotFoundError(
                f"{root} is not a cstool workspace (no {CONFIG_NAME})",
                hint="create one with `cstool init DIR`",
            )
        return root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise NotFoundError(
        f"no cstool workspace here or in any parent folder (no {CONFIG_NAME})",
        hint="run `cstool init DIR` and cd into it, or pass --workspace DIR",
    )


def open_workspace(
    explicit: Path | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Workspace:
    """Find the workspace and resolve its configuration."""
    root = find_root(explicit, env)
    return Workspace(root, resolve(root / CONFIG_NAME, env, flags))


@dataclass(frozen=True)
class InitResult:
    """What ``init`` created."""

    root: Path
    created: tuple[str, ...]


def init_workspace(target: Path, *, sample: bool = False, company: str = "Acme") -> InitResult:
    """Create a workspace at ``target``; refuse to overwrite any existing file."""
    root = target.expanduser().resolve()
    plan: list[tuple[Path, Path | None]] = [(root / CONFIG_NAME, None)]
    for name in STARTER_DIRS:
        src = bundled(name)
        plan += [
            (root / name / f.relative_to(src), f) for f in sorted(src.rglob("*")) if f.is_file()
        ]
    if sample:
        src = bundled("sample_data")
        plan += [(root / "data" / f.name, f) for f in sorted(src.glob("*.csv"))]
    clashes = [p for p, _ in plan if p.exists()] + [p for p in (root / DB_NAME,) if p.exists()]
    if clashes:
        raise InputError(
            f"{clashes[0]} already exists; init never overwrites files",
            hint="choose a new directory, or remove the existing workspace first",
        )
    from cstool.store import Store

    try:
        for d in (*STARTER_DIRS, "outbox", *(("data",) if sample else ())):
            (root / d).mkdir(parents=True, exist_ok=True)
        for dest, src_file in plan:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src_file is None:
                dest.write_text(default_yaml(company, sample=sample), encoding="utf-8")
            else:
                shutil.copyfile(src_file, dest)
        Store.create(root / DB_NAME).close()
    except OSError as e:
        raise EnvironmentProblem(
            f"cannot create the workspace: {e.strerror}: {e.filename}",
            hint="check permissions and free disk space",
        ) from None
    created = [CONFIG_NAME, DB_NAME, *(f"{d}/" for d in STARTER_DIRS), "outbox/"]
    if sample:
        created.append("data/")
    return InitResult(root, tuple(created))
