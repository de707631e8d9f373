"""Commit the built site to a branch and push it (GitHub, GitLab or Codeberg Pages, any git host).

A clone is cached under ``<base_dir>/.broadcaster/git/<name>``. Each publish
fetches the branch's tip (shallow: history is never needed), resets the clone
to it, or starts an orphan branch when the remote has none, replaces the
content of ``path`` with the site, and commits and pushes only when something
changed: one small commit per publish. Files are rewritten only when their
bytes differ, so git re-reads only what changed.

Plain ``git`` runs in a subprocess with the operator's own credentials
(credential helpers, SSH keys). A remote URL may carry ``user:token@``; every
message this module produces has that part replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from broadcaster.errors import ConfigError, DeliveryError, permanent, retryable
from broadcaster.site.hosts import BuiltSite, SiteHost
from channels.base import CheckResult, Receipt, redact

if TYPE_CHECKING:
    from broadcaster.config import ChannelConfig

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")
# git's messages, in the C locale, that mean "try again later" or "fix something first".
_RETRY = ("Could not resolve host", "Connection refused", "Connection timed out", "timed out",
          "Connection reset", "remote end hung up", "early EOF", "RPC failed", "returned error: 5",
          "Failed to connect", "Network is unreachable", "Temporary failure", "SSL", "gnutls")
_REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "cannot lock ref")
_CREDENTIALS = ("Authentication failed", "could not read Username", "could not read Password",
                "terminal prompts disabled", "Invalid username or password")
_FORBIDDEN = ("Permission denied", "Permission to", "403", "denied to", "protected branch",
              "pre-receive hook declined")
_NOT_FOUND = ("Repository not found", "does not appear to be a git repository", "not found",
              "No such file or directory")


class GitHost(SiteHost):
    """``type = "git"``: the site as the content of ``path`` on ``branch`` of ``remote``."""

    type_name = "git"
    required_options = ("remote", "branch")
    optional_options = ("path",)

    # The commits are the tool's, and machines without `git config user.name` must work too.
    committer: ClassVar[tuple[str, str]] = ("broadcaster", "broadcaster@localhost")
    # Finite, so a stalled host fails one attempt instead of hanging the command.
    network_timeout: ClassVar[float] = 120.0
    local_timeout: ClassVar[float] = 60.0
    # Files GitHub Pages reads from the branch, added by hand; deleting CNAME takes the custom domain
    # offline, so they survive a publish unless the site itself has them.
    keep: ClassVar[frozenset[str]] = frozenset({"CNAME", ".nojekyll"})

    def __init__(self, config: ChannelConfig, base_dir: Path) -> None:
        super().__init__(config, base_dir)
        options = config.options
        self.remote_option: Any = options["remote"]
        self.branch = str(options["branch"])
        raw_path = str(options.get("path", "")).strip("/")
        where = f"publish.{self.name}"
        if not _BRANCH.match(self.branch):
            raise ConfigError(f"{where}.branch: {self.branch!r} is not a valid branch name (e.g. gh-pages).")
        parts = PurePosixPath(raw_path).parts if raw_path else ()
        if any(p in ("..", ".git") for p in parts) or raw_path.startswith("~"):
            raise ConfigError(f"{where}.path must be a folder inside the repository, like docs or status.")
        self.path = "/".join(parts)
        self.cache = base_dir / ".broadcaster" / "git" / self.name

    @property
    def remote(self) -> str:
        """The URL git uses; may hold credentials, so it goes to git and nowhere else."""
        value = self.remote_option
        return value.reveal() if hasattr(value, "reveal") else str(value)

    @property
    def shown_remote(self) -> str:
        value = self.remote_option
        raw = value.reveal_or_empty() if hasattr(value, "reveal_or_empty") else str(value)
        return self.clean(raw) or repr(value)

    def clean(self, text: str) -> str:
        """``text`` without the credentials of the remote URL."""
        text = _USERINFO.sub("***@", text)
        value = self.remote_option
        raw = value.reveal_or_empty() if hasattr(value, "reveal_or_empty") else str(value)
        try:
            parts = urlsplit(raw)
            found = [parts.username or "", parts.password or ""]
        except ValueError:
            found = []
        return redact(text, found)

    # -- publishing ------------------------------------------------------------------

    async def publish(self, site: BuiltSite) -> Receipt:
        """Commit ``site`` to the branch when it differs from the branch's tip, and push."""
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self._publish_locked, site, stop)
        except asyncio.CancelledError:
            stop.set()  # the thread finishes its current git command, then stops before pushing
            raise

    def _publish_locked(self, site: BuiltSite, stop: threading.Event) -> Receipt:
        # Two commands publishing at once would share one clone: take turns.
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        with open(self.cache.parent / f".{self.name}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._publish(site, stop)

    def _publish(self, site: BuiltSite, stop: threading.Event) -> Receipt:
        self._prepare_clone()
        if self._fetch():
            self._local("checkout", "-q", "-f", "-B", self.branch, f"refs/remotes/origin/{self.branch}")
        else:
            self._start_orphan()
        self._local("clean", "-q", "-f", "-d", "-x")
        self._copy_site(site)
        self._local("add", "-A", "-f", "--", self.path or ".")
        changed = [c for c in self._local("diff", "--cached", "--name-only", "-z").split("\0") if c]
        if not changed:
            return Receipt(remote_id=f"{self.branch}@{self._head()[:12]}", notes=("unchanged; nothing pushed",))
        name, email = self.committer
        message = f"Publish status page ({len(changed)} file{'s' if len(changed) != 1 else ''} changed)"
        self._local("-c", f"user.name={name}", "-c", f"user.email={email}", "-c", "commit.gpgsign=false",
                    "commit", "-q", "--no-verify", "-m", message)
        if stop.is_set():
            raise retryable("the publish was stopped before pushing; the next attempt pushes again")
        self._network("push", "push", "-q", "origin", f"HEAD:refs/heads/{self.branch}")
        return Receipt(remote_id=f"{self.branch}@{self._head()[:12]}", notes=(message,))

    def _head(self) -> str:
        """The commit the branch points at; empty on a new branch with nothing to commit."""
        try:
            return self._git("rev-parse", "--verify", "HEAD").strip()
        except _GitFailed:
            return ""

    def _prepare_clone(self) -> None:
        if not (self.cache / ".git").is_dir():
            # Ours alone: a half-made clone from an interrupted first publish is safe to remove.
            shutil.rmtree(self.cache, ignore_errors=True)
            self.cache.mkdir(parents=True)
            self._local("init", "-q")
        # Each time, so a changed `remote` in the config takes effect. Like any clone, the URL
        # (and credentials in it, if the operator wrote them there) lives in .git/config.
        self._local("config", "remote.origin.url", self.remote)
        # Bytes exactly as built: no line-ending conversion from the operator's global config.
        self._local("config", "core.autocrlf", "false")

    def _fetch(self) -> bool:
        """Fetch the branch's tip; False when the remote has no such branch yet."""
        refspec = f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}"
        try:
            self._git("fetch", "-q", "--depth=1", "--no-tags", "origin", refspec, network=True)
        except _GitFailed as failed:
            if "couldn't find remote ref" in failed.stderr:
                return False
            raise self._error(failed, "fetch") from None
        return True

    def _start_orphan(self) -> None:
        """An empty branch with no history, for the first publish to a new pages branch."""
        self._local("symbolic-ref", "HEAD", f"refs/heads/{self.branch}")
        self._local("update-ref", "-d", f"refs/heads/{self.branch}")
        self._local("read-tree", "--empty")

    def _copy_site(self, site: BuiltSite) -> None:
        """Make ``path`` hold exactly the site, writing only files whose bytes differ."""
        target = self.cache / self.path if self.path else self.cache
        target.mkdir(parents=True, exist_ok=True)
        wanted = set(site.hashes)
        for existing in _files(target, skip_git=not self.path):
            relative = existing.relative_to(target).as_posix()
            if relative not in wanted and relative not in self.keep:
                existing.unlink()
        _remove_empty_dirs(target)
        for relative in site.hashes:
            source, destination = site.root / relative, target / relative
            data = source.read_bytes()
            if destination.is_dir():
                shutil.rmtree(destination)
            if not destination.is_file() or destination.read_bytes() != data:
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(data)

    # -- checking ------------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """``git ls-remote``: can we reach the repository and read the branch? Changes nothing."""
        return await asyncio.to_thread(self._check)

    def _check(self) -> list[CheckResult]:
        target = f"{self.shown_remote} {self.branch}"
        try:
            found = self._git("ls-remote", "--heads", self.remote, f"refs/heads/{self.branch}",
                              network=True, cwd=self.base_dir if self.base_dir.is_dir() else Path.cwd())
        except _GitFailed as failed:
            return [CheckResult(self.name, target, False, str(self._error(failed, "read")))]
        except DeliveryError as exc:
            return [CheckResult(self.name, target, False, str(exc))]
        if found.strip():
            detail = f"repository reachable; {self.branch} is at {found.split()[0][:12]}"
        else:
            detail = f"repository reachable; {self.branch} does not exist yet and will be created"
        return [CheckResult(self.name, target, True, detail + " (push access is tested by the first publish)")]

    # -- running git -------------------------------------------------------------------------

    def _git(self, *args: str, network: bool = False, cwd: Path | None = None) -> str:
        """Run git in the clone and return its output; raise _GitFailed when it exits non-zero."""
        env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
        # No prompts (publishing is unattended and runs beside other deliveries); messages in
        # English, so that they can be classified.
        env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C")
        try:
            done = subprocess.run(
                ["git", *args], check=False, cwd=cwd or self.cache, env=env, stdin=subprocess.DEVNULL,
                capture_output=True, text=True, errors="replace",
                timeout=self.network_timeout if network else self.local_timeout,
            )
        except FileNotFoundError as exc:
            if shutil.which("git"):
                raise permanent(f"the folder {cwd or self.cache} vanished while publishing; run the command again.") from exc
            raise permanent("git is not installed or not on PATH. Install git (apt-get install git) "
                            f"to publish to {self.shown_remote}.") from exc
        except subprocess.TimeoutExpired as exc:
            # A push cut short may or may not have landed; pushing the same commit again is harmless.
            raise DeliveryError(f"git {args[0]} with {self.shown_remote} took longer than "
                                f"{exc.timeout:g}s. The host may be slow or unreachable.",
                                retryable=True, outcome_unknown=network) from exc
        if done.returncode != 0:
            raise _GitFailed(next(a for a in args if not a.startswith("-") and "=" not in a), done.stderr)
        return done.stdout

    def _local(self, *args: str) -> str:
        try:
            return self._git(*args)
        except _GitFailed as failed:
            raise self._local_error(failed) from None

    def _network(self, doing: str, *args: str) -> str:
        try:
            return self._git(*args, network=True)
        except _GitFailed as failed:
            raise self._error(failed, doing) from None

    def _error(self, failed: _GitFailed, doing: str) -> DeliveryError:
        """A network git command failed: retryable or permanent, with the advice for it."""
        stderr = failed.stderr
        remote = self.shown_remote
        said = self.clean(_last_lines(stderr))
        if any(s in stderr for s in _REJECTED):
            return retryable(f"{remote} {self.branch} moved while publishing (someone else pushed); "
                             f"the next attempt starts from its new tip. git said: {said}")
        if any(s in stderr for s in _RETRY):
            return retryable(f"cannot reach {remote} ({doing}): {said}. Check the network.")
        if any(s in stderr for s in _CREDENTIALS):
            return permanent(f"git has no working credentials for {remote}. Set up a credential helper or "
                             f"an SSH key for this repository (git {doing} cannot prompt here). git said: {said}")
        if any(s in stderr for s in _FORBIDDEN):
            cannot = (f"may not write to {self.branch} (or the branch is protected)" if doing == "push"
                      else "may not read this repository")
            return permanent(f"{remote} refused the {doing}: your git credentials {cannot}. "
                             f"Fix their access or publish.{self.name}.remote. git said: {said}")
        if any(s in stderr for s in _NOT_FOUND):
            return permanent(f"repository {remote} not found. Check publish.{self.name}.remote and that "
                             f"your credentials can see it. git said: {said}")
        return permanent(f"git {doing} to {remote} failed: {said}. Check publish.{self.name} and "
                         "try the same git command by hand.")

    def _local_error(self, failed: _GitFailed) -> DeliveryError:
        return permanent(
            f"git {failed.command} failed in the cached clone {self.cache}: {self.clean(_last_lines(failed.stderr))}. "
            "Delete that folder; the next publish clones again."
        )


class _GitFailed(Exception):
    """A git command exited non-zero; classified by the caller that knows what it was doing."""

    def __init__(self, command: str, stderr: str) -> None:
        super().__init__(command)
        self.command = command
        self.stderr = stderr


def _last_lines(stderr: str, count: int = 3) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or "no message"


def _files(root: Path, *, skip_git: bool) -> list[Path]:
    found = []
    for directory, subdirs, names in os.walk(root):
        if skip_git and Path(directory) == root:
            subdirs[:] = [d for d in subdirs if d != ".git"]
        found.extend(Path(directory, name) for name in names)
    return found


def _remove_empty_dirs(root: Path) -> None:
    """Remove the folders a deleted page left empty (git does not track folders)."""
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink() and child.name != ".git":
            _remove_empty_dirs(child)
            if not any(child.iterdir()):
                child.rmdir()
