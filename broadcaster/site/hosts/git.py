"""Commit the built site to a branch and push it (GitHub, GitLab or Codeberg Pages, any git host).

A git directory is cached under ``<base_dir>/.broadcaster/git/<name>`` (private:
0700). Each publish fetches the branch's tip (shallow: history is never
needed), builds the commit's tree straight from the site's files (``git
hash-object`` for the files that changed since the last publish, ``git
update-index`` into an index of its own, ``git write-tree``) and pushes it when
the tree differs from the tip's. Nothing is ever checked out, so nothing is
ever written or deleted through a link the branch may hold; a branch that
holds one is refused all the same, since a web server could follow it.

``history = "replace"`` (the default): the branch is one commit, pushed with
``--force-with-lease`` over the previous one. A correction or a withdrawn
update then leaves nothing of the old text in the branch's history (the host
may keep unreachable objects until it collects garbage). ``history = "keep"``:
one commit per publish on top of the tip, the old text stays in ``git log -p``.

Files someone commits on top of the site (robots.txt, a domain verification
file) stay, as CNAME does: only files shaped like the site's own (``is_site_path``)
are dropped when a build lacks them. A branch, or a ``path`` folder, holding
someone else's files is refused rather than replaced with its history.

Every commit says which store the site was built from and how far that store
had got (``Broadcaster-Store``: the store's digest, ``Broadcaster-Sealed``: its
generation sealed with the store's id, see ``hosts._sealed``; the branch is as
readable as the page); a publish never replaces a site another machine built
from a later state of the same store.

Plain ``git`` runs in a subprocess. User values go after ``--``, and a
``remote`` that is not a URL or a path is refused (one starting with ``-``
would be read as an option). Credentials in a remote URL (only from
``${ENV}``; written in the file they are refused) never reach the disk: git
gets them from a credential helper reading this process's environment, and
``.git/config`` holds no remote at all. Every message this module produces has
them replaced by ``***``. git is always told where the clone is (``GIT_DIR``), so
it never looks for a repository above a broken clone (the operator's own), and it
gets no ``GIT_*`` variable that would point it at another repository or namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from broadcaster import lazy_re
from broadcaster.config import is_loopback, plain_value, url_credentials, without_credentials
from broadcaster.delivery import CheckResult, Receipt
from broadcaster.errors import ConfigError, DeliveryError, permanent, retryable
from broadcaster.filelock import POLL_SECONDS, FileLock
from broadcaster.redaction import redact, without_customer_pages
from broadcaster.site.folder import SITE_SIGNATURE, is_site_path
from broadcaster.site.hosts import BuiltSite, SiteHost, publish_in_thread
from broadcaster.site.hosts._sealed import seal, store_digest, unseal

if TYPE_CHECKING:
    from broadcaster.config import ChannelConfig

_BRANCH = lazy_re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<![./])$")
_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})
_SCP_LIKE = lazy_re.compile(r"^(?:[A-Za-z0-9._~+-]+@)?[A-Za-z0-9.-]+:[^\s]+$")  # [user@]host:path
_GENERATION = lazy_re.compile(r"^Broadcaster-Generation: (\d+)$", re.MULTILINE)  # plain: before 2026-12-05
_STORE = lazy_re.compile(r"^Broadcaster-Store: (\S+)$", re.MULTILINE)
_SEALED = lazy_re.compile(r"^Broadcaster-Sealed: (\S+)$", re.MULTILINE)
_OLD_SUBJECT = lazy_re.compile(r"Publish status page \(\d+ files? changed\)")  # all an older version wrote
_HISTORY = ("replace", "keep")
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
# git's messages, in the C locale, that mean "try again later" or "fix something first".
_RETRY = ("Could not resolve host", "Connection refused", "Connection timed out", "timed out",
          "Connection reset", "remote end hung up", "early EOF", "RPC failed", "returned error: 5",
          "Failed to connect", "Network is unreachable", "Temporary failure", "SSL", "gnutls")
_REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "cannot lock ref", "stale info")
_CREDENTIALS = ("Authentication failed", "could not read Username", "could not read Password",
                "terminal prompts disabled", "Invalid username or password")
# curl's "returned error: 403", never a bare 403: a port (https://host:4031/) or an object id holds one.
_FORBIDDEN = ("Permission denied", "Permission to", "returned error: 403", "denied to", "protected branch",
              "Protected branch")  # GitHub's GH006, said by its hook
# A server-side hook or rule that read the push and refused it (pre-receive/update hooks, GitHub's repository rules
# and push protection): the remote's own words say why, the first of them first.
_DECLINED = ("hook declined", "declined due to")
_HOOK_LINES = 6
_NOT_FOUND = ("Repository not found", "does not appear to be a git repository", "not found",
              "No such file or directory")
# git's messages when it does not trust the host's TLS certificate (gnutls, OpenSSL, Secure Transport, Schannel,
# NSS builds of libcurl): permanent, though "SSL" alone (a connection cut mid-handshake) is worth another attempt.
_CERTIFICATE = ("certificate verification failed", "SSL certificate problem", "certificate subject name",
                "no alternative certificate subject name", "certificate is NOT trusted", "certificate verify failed",
                "SEC_E_UNTRUSTED_ROOT", "CERT_TRUST_", "Peer's Certificate", "unable to get local issuer")
# What git says when the clone itself is damaged (a crash lost the content of loose objects or refs, which git
# does not flush by default): the clone is made again, never the remote blamed.
_DAMAGED = ("object file", "loose object", "is corrupt", "bad object", "bad tree object", "bad packed object",
            "reference broken", "unable to resolve reference", "cannot lock ref 'refs/remotes/",
            "did not send all necessary objects", "inflate:", "invalid sha1 pointer", "broken link",
            "could not parse commit", "could not parse object", "unable to read tree", "unable to read sha1",
            "unable to unpack", "missing blob", "missing tree", "missing commit", "packfile")
# The GIT_* variables of this process's environment git is not handed: those that point it at another
# repository, ref namespace, index, object store, work tree, config, template or history (as set in a git hook,
# or by `git -c` for the commands it runs: the site went elsewhere while "sent" was reported), those that choose
# how the clone is made (ours: its format must match the remote's), those that write what git does (request
# headers included) to a file or into the stderr this module classifies and quotes, and the commit's identity
# and dates (the commits are the tool's). Everything else passes: how to reach and log in to the host (GIT_SSH*,
# GIT_SSL_* such as GIT_SSL_NO_VERIFY and GIT_SSL_CAINFO, GIT_PROXY_*, GIT_HTTP_*, GIT_ASKPASS), where git is
# installed, and the operator's own config files (GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM, GIT_CONFIG_NOSYSTEM, as
# HOME passes for ~/.gitconfig): git adds transport variables over time, and one dropped broke a setup unseen.
_DENIED_ENV = frozenset({
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_PREFIX",
    "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_TEMPLATE_DIR", "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS", "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE", "GIT_QUARANTINE_PATH", "GIT_REF_PARANOIA",
    "GIT_NO_LAZY_FETCH", "GIT_ATTR_SOURCE", "GIT_PROTOCOL", "GIT_DEFAULT_HASH", "GIT_DEFAULT_REF_FORMAT",
    "GIT_INDEX_VERSION", "GIT_CURL_VERBOSE", "GIT_REDACT_COOKIES",
})
_DENIED_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_", "GIT_TRACE", "GIT_AUTHOR_", "GIT_COMMITTER_",
                    "GIT_INTERNAL_", "GIT_TEST_")
# Every git run here: no automatic gc or maintenance, which would detach and go on working in the clone after the
# publish let go of its lock (the next publish then removes a live git's lock files); ``_pack`` packs instead.
_NO_AUTO_GC = ("-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "gc.autoDetach=false",
               "-c", "maintenance.autoDetach=false")
# When ``_pack`` runs ``gc --auto``: git's own default, whatever a config says (gc.auto=0 there would leave the
# loose objects of every publish to pile up for ever).
_GC_AUTO = 6700
# The credential helper git runs: it reads the credentials from the environment at that moment,
# so they are never written to a file nor put on a command line.
# Answers only for the remote's own scheme and host (a redirect to another host gets nothing, as with plain
# git); compared in the helper, since git's URL-scoped helper settings miss hosts such as "my_host".
_HELPER = ('!f() { test "$1" = get || exit 0; p=; h=; while IFS= read -r line && test -n "$line"; do '
           'case "$line" in protocol=*) p=${line#protocol=};; host=*) h=${line#host=};; esac; done; '
           'h=$(printf %s "$h" | tr "[:upper:]" "[:lower:]"); '
           'test "$p" = "$BROADCASTER_GIT_PROTOCOL" && test "$h" = "$BROADCASTER_GIT_HOST" || exit 0; '
           'printf \'username=%s\\npassword=%s\\n\' "$BROADCASTER_GIT_USERNAME" "$BROADCASTER_GIT_PASSWORD"; }; f')


def check_remote(value: str, where: str, *, written: bool) -> None:
    """Refuse a remote that is not a URL or a path, or (``written`` in the file) that holds a credential."""
    def refuse(problem: str) -> ConfigError:
        return ConfigError(f"{where}.remote {problem}")

    if not value or value != value.strip() or any(ord(c) < 32 or ord(c) == 127 or c.isspace() and c != " " for c in value):
        raise refuse("must be a repository URL or path, without control characters, tabs or line breaks, "
                     "nor spaces around it.")
    if "::" in value:
        raise refuse("uses a git remote helper (TRANSPORT::ADDRESS), which runs a program; use an https://, "
                      "ssh:// or git@host:path URL, or a path.")
    if " " in value and (value.startswith("-") or ":" in value.split("/", 1)[0] or "://" in value):
        # A path may hold spaces (each value is git's argument of its own); a URL has them percent-encoded.
        raise refuse("holds a space, which only a path may hold: give a URL or git@host:path address without "
                     "spaces (in a URL write each as %20), or a path.")
    if value.startswith("-"):
        raise refuse("must be a repository URL or path; it cannot begin with '-' (git would read it as an option).")
    if "://" in value:
        try:
            parts = urlsplit(value)
            port = parts.port  # noqa: F841 - raises on a malformed port
        except ValueError as exc:
            raise refuse(f"is not a valid URL ({exc}).") from exc
        if parts.scheme.lower() not in _SCHEMES or (parts.scheme.lower() != "file" and not parts.hostname):
            raise refuse(f"must be an {', '.join(sorted(_SCHEMES))} URL with a host, a git@host:path address or a path.")
        if written and (parts.password or (parts.username and parts.scheme.lower() in ("http", "https"))):
            raise refuse(
                "holds a credential written in the file. Put the whole URL in an environment variable and write "
                'remote = "${PAGES_REMOTE}", or leave the credential to git (a credential helper or an SSH key).'
            )
        _refuse_credential_in_clear_text(value, where)
        return
    if ":" in value.split("/", 1)[0] and not _SCP_LIKE.match(value):
        raise refuse("must be a URL (https://host/owner/repo.git), a git@host:path address or a path.")


def _refuse_credential_in_clear_text(value: str, where: str) -> None:
    """Refuse an http:// remote on another machine that holds a credential (from ``${VAR}``): git would send it
    in clear text (HTTP Basic), for anyone on the way to read and push with."""

    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        return  # check_remote says what is wrong with it
    if parts.scheme.lower() == "http" and (parts.username or parts.password) and not is_loopback(host):
        raise ConfigError(
            f"{where}.remote is http:// to another machine ({host}) and holds a credential, which git would send in "
            "clear text. Use the repository's https:// address (http:// only to this machine)."
        )


class GitHost(SiteHost):
    """``type = "git"``: the site as the content of ``path`` on ``branch`` of ``remote``."""

    type_name = "git"
    required_options = ("remote", "branch")
    optional_options = ("path", "history")

    # The commits are the tool's, and machines without `git config user.name` must work too.
    committer: ClassVar[tuple[str, str]] = ("broadcaster", "broadcaster@localhost")
    # Finite, so a stalled host fails one attempt instead of hanging the command.
    network_timeout: ClassVar[float] = 120.0
    local_timeout: ClassVar[float] = 60.0
    # Files GitHub Pages reads from the branch, added by hand; deleting CNAME takes the custom domain
    # offline, so they survive a publish unless the site itself has them, and a branch (or path folder)
    # holding nothing else is the site's to take.
    keep: ClassVar[frozenset[str]] = frozenset({"CNAME", ".nojekyll"})

    def __init__(self, config: ChannelConfig, base_dir: Path) -> None:
        super().__init__(config, base_dir)
        options = config.options
        self.validate_options(options, f"publish.{self.name}")
        self.remote_option: Any = options["remote"]
        self.branch = str(options["branch"])
        self.history = str(options.get("history", "replace"))
        self.path = "/".join(PurePosixPath(str(options.get("path", "")).strip("/")).parts)
        self.cache = base_dir / ".broadcaster" / "git" / self.name

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        """Refuse a branch, path, history or remote that cannot work, or a credential written in the file."""
        where = where.rstrip(". ")
        branch = str(options.get("branch", ""))
        if not _BRANCH.match(branch):
            raise ConfigError(f"{where}.branch: {branch!r} is not a valid branch name (e.g. gh-pages).")
        raw_path = str(options.get("path", "")).strip("/")
        parts = PurePosixPath(raw_path).parts if raw_path else ()
        if any(p in ("..", ".git") for p in parts) or raw_path.startswith("~") or raw_path.startswith("-"):
            raise ConfigError(f"{where}.path must be a folder inside the repository, like docs or status.")
        if str(options.get("history", "replace")) not in _HISTORY:
            raise ConfigError(f'{where}.history must be "replace" (one commit, the default) or "keep" (a commit per publish).')
        remote = options.get("remote")
        if isinstance(remote, str):
            check_remote(remote, where, written=True)
        elif "://" in plain_value(remote):  # from ${VAR}: checked in full when publishing, its credential's way here
            _refuse_credential_in_clear_text(plain_value(remote), where)

    @property
    def remote(self) -> str:
        """The URL given (credentials included); goes to ``_location`` and nowhere else."""
        value = self.remote_option
        return value.reveal() if hasattr(value, "reveal") else str(value)

    @property
    def place(self) -> str:
        return f"git:{self.shown_remote} {self.branch} {self.path}"

    @property
    def shown_remote(self) -> str:
        value = self.remote_option
        return self.clean(plain_value(value)) or repr(value)

    def clean(self, text: str) -> str:
        """``text`` without the credentials of the remote URL, nor the token of a customer's page it names (a
        rotated token's old page: no config holds that token any more)."""
        return redact(without_credentials(without_customer_pages(text)), self._credentials())

    def _credentials(self) -> list[str]:
        raw = plain_value(self.remote_option)
        try:
            parts = urlsplit(raw)
            return [parts.username or "", parts.password or "", *url_credentials(raw)]
        except ValueError:
            return []

    def _location(self) -> tuple[str, dict[str, str]]:
        """The URL git is given (no credentials: never on disk, never on a command line) and the
        environment that hands git the credentials, if the remote had any."""
        url = self.remote
        check_remote(url, f"publish.{self.name}", written=False)
        if "://" not in url:
            if ":" not in url.split("/", 1)[0] and not os.path.isabs(os.path.expanduser(url)):
                url = str(self.base_dir / url)  # relative to the config file, not to the cached clone
            return os.path.expanduser(url), {}
        parts = urlsplit(url)
        if not parts.password and not (parts.username and parts.scheme.lower() in ("http", "https")):
            return url, {}
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        from urllib.parse import unquote

        env = {
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "credential.helper", "GIT_CONFIG_VALUE_0": "",  # only ours, for this remote
            "GIT_CONFIG_KEY_1": "credential.helper", "GIT_CONFIG_VALUE_1": _HELPER,
            # A redirect to another host (git follows the first request's) is not handed the token.
            "BROADCASTER_GIT_PROTOCOL": parts.scheme.lower(), "BROADCASTER_GIT_HOST": netloc.lower(),
            "BROADCASTER_GIT_USERNAME": unquote(parts.username or ""),
            "BROADCASTER_GIT_PASSWORD": unquote(parts.password or ""),
        }
        return clean, env

    # -- publishing ------------------------------------------------------------------

    async def publish(self, site: BuiltSite) -> Receipt:
        """Push a commit holding ``site`` when it differs from the branch's tip."""
        stop = threading.Event()
        # Cut, the thread finishes its current git command, then stops before pushing; a push under way lands.
        return await publish_in_thread(self, lambda: self._publish_locked(site, stop), stop.set)

    def _publish_locked(self, site: BuiltSite, stop: threading.Event) -> Receipt:
        # Two commands publishing at once would share one clone: take turns.
        _private_folder(self.cache.parent)
        os.chmod(self.cache.parent, PRIVATE_FOLDER)
        lock = FileLock(self.cache.parent / f".{self.name}.lock")
        while not lock.acquire(wait=False):  # polled: a blocking wait here would outlive a cancel or Ctrl-C
            if stop.wait(POLL_SECONDS):
                raise retryable("the publish was stopped while another command held the clone; the next attempt "
                                "pushes again")
        try:
            receipt = self._publish_repairing(site, stop)
        except _GitFailed as failed:  # a local command not classified where it ran
            raise self._local_error(failed) from None
        else:
            self._pack()
            return receipt
        finally:
            lock.release()

    def _publish_repairing(self, site: BuiltSite, stop: threading.Event) -> Receipt:
        """``_publish``; when git finds the clone damaged (a crash lost loose objects or refs), the clone is made
        again from the remote, once, and the publish goes on: it is ours alone, under our lock, and holds
        nothing the remote does not. Nothing was pushed when the damage shows."""
        try:
            return self._publish(site, stop)
        except _CloneDamaged as damaged:
            said = self.clean(_last_lines(damaged.failed.stderr))
        try:
            receipt = self._publish(site, stop, anew=True)
        except _CloneDamaged as again:
            raise permanent(
                f"git {again.failed.command} found damaged objects or refs even in the cached clone made anew "
                f"({self.cache}): {self.clean(_last_lines(again.failed.stderr))}. The damage is then in the "
                f"repository {self.shown_remote} itself (run `git fsck` there) or on the disk holding {self.cache}. "
                "Nothing was pushed."
            ) from None
        note = f"the cached clone {self.cache} was damaged ({said}) and was made again from {self.shown_remote}"
        return Receipt(remote_id=receipt.remote_id, notes=(*receipt.notes, note))

    def _publish(self, site: BuiltSite, stop: threading.Event, anew: bool = False) -> Receipt:
        self._prepare_clone(anew)
        url, env = self._location()
        tip = self._fetch(url, env)
        entries = self._entries(tip) if tip else {}
        self._refuse_links(entries)
        published = self._generation(tip, site.store) if tip else None
        site_there = self._refuse_anothers_branch(tip, entries) if tip else False
        site.refuse_restored_over(published, f"the branch {self.branch}")
        if site.behind(published):
            return Receipt(remote_id=f"{self.branch}@{tip[:12]}",  # type: ignore[index]
                           notes=(f"kept: the branch already holds a site built from a later state of the store "
                                  f"(generation {published} > {site.generation})",))
        tree = self._write_tree(site, self._kept(entries, site, site_there))
        if tip and tree == self._local("rev-parse", f"{tip}^{{tree}}").strip():
            return Receipt(remote_id=f"{self.branch}@{tip[:12]}", notes=("unchanged; nothing pushed",))
        changed = self._changed_files(tip, tree)
        message = f"Publish status page ({changed} file{'s' if changed != 1 else ''} changed)\n\n{_trailers(site)}"
        commit = self._commit(tree, tip if self.history == "keep" else None, message)
        if stop.is_set():
            raise retryable("the publish was stopped before pushing; the next attempt pushes again")
        self._push(url, env, commit, tip)
        restored = [site.restored_note(published)] if published is not None and site.restored_over(published) else []
        return Receipt(remote_id=f"{self.branch}@{commit[:12]}", notes=(message.splitlines()[0], *restored))

    def _prepare_clone(self, anew: bool = False) -> None:
        if anew or not self._is_clone():
            # Ours alone: a half-made clone (a `git init` or first publish interrupted, a .git without
            # HEAD) is safe to remove (rmtree removes links, it never follows them).
            if self.cache.is_symlink():
                self.cache.unlink()
            shutil.rmtree(self.cache, ignore_errors=True)
            _private_folder(self.cache)
            self._local("init", "-q")
        os.chmod(self.cache, PRIVATE_FOLDER)
        os.chmod(self.cache / ".git", PRIVATE_FOLDER)
        self._remove_stale_locks()
        # Earlier versions kept the remote URL, credentials and all, in .git/config.
        self._git_quiet("config", "--remove-section", "remote.origin")
        os.chmod(self.cache / ".git" / "config", PRIVATE_FILE)

    def _is_clone(self) -> bool:
        """Whether the cache holds a repository git accepts (a broken one would make every publish fail)."""
        dot_git = self.cache / ".git"
        if self.cache.is_symlink() or dot_git.is_symlink() or not dot_git.is_dir():
            return False
        try:
            self._git("rev-parse", "--git-dir")
        except _GitFailed:
            return False
        return True

    def _remove_stale_locks(self) -> None:
        """Remove the lock files a git command killed in the clone left behind (the process group stopped, the
        OOM killer, ``local_timeout``): each would fail every later publish. The clone is ours alone and
        publishes take turns on its FileLock, which this publish holds, so no git is working in it now."""
        for folder, _folders, files in os.walk(self.cache / ".git"):
            for name in files:
                if name.endswith(".lock"):
                    Path(folder, name).unlink(missing_ok=True)

    def _fetch(self, url: str, env: dict[str, str]) -> str | None:
        """Fetch the branch's tip and return its commit; None when the remote has no such branch."""
        tracking = f"refs/remotes/origin/{self.branch}"
        try:
            self._git("fetch", "-q", "--depth=1", "--no-tags", "--", url, f"+refs/heads/{self.branch}:{tracking}",
                      network=True, env=env)
        except _GitFailed as failed:
            if "couldn't find remote ref" in failed.stderr:
                self._git_quiet("update-ref", "-d", tracking)  # deleted there: forget the old tip
                return None
            if _damaged(failed.stderr):
                raise _CloneDamaged(failed) from None
            raise self._error(failed, "fetch") from None
        return self._local("rev-parse", "--verify", "--end-of-options", f"{tracking}^{{commit}}").strip()

    def _entries(self, tip: str) -> dict[str, tuple[str, str]]:
        """Every entry of the tip's tree: path -> (mode, object id)."""
        listing = self._local("ls-tree", "-r", "-z", "--full-tree", "--end-of-options", tip)
        entries = {}
        for item in filter(None, listing.split("\0")):
            meta, path = item.split("\t", 1)
            mode, _kind, obj = meta.split()
            entries[path] = (mode, obj)
        return entries

    def _refuse_links(self, entries: dict[str, tuple[str, str]]) -> None:
        links = sorted(path for path, (mode, _) in entries.items() if mode == "120000")
        if links:
            raise permanent(
                f"{self.shown_remote} {self.branch} holds symbolic links ({', '.join(links[:3])}); broadcaster "
                "never publishes a branch with links, since they can point anywhere. Remove them from the branch "
                f"(or delete the branch: the next publish creates it), then run `broadcaster retry`."
            )

    def _refuse_anothers_branch(self, tip: str, entries: dict[str, tuple[str, str]]) -> bool:
        """Files someone else keeps where the site goes (a project's main, a handbook under ``path``) are
        never replaced by the site: their files and, with history = "replace", their whole history were
        dropped by one force-push. What lies where the site goes (the branch, or its ``path`` folder) is
        the site's when it holds a site we built or nothing but CNAME/.nojekyll, or the tip is a commit of
        ours, or a host's own commit on top of one (GitHub's "Create CNAME": its parent is the commit
        this clone pushed). Outside ``path``, files are kept (``_kept``); inside it, with history = "keep",
        they are replaced but stay in the branch's history. Returns whether the site is there already
        (what else lies beside it was added on top of it, and is kept)."""
        prefix = f"{self.path}/" if self.path else ""
        site = {p[len(prefix):] for p in entries if p.startswith(prefix)}
        if SITE_SIGNATURE in site or self._ours(tip):
            return True
        if not site - self.keep:
            return False
        # Read from the commit itself: a shallow fetch shows the tip with no parents.
        header = self._local("cat-file", "commit", tip).split("\n\n", 1)[0]
        if any(self._ours(line.split()[1]) for line in header.splitlines() if line.startswith("parent ")):
            return True
        if self.path and self.history == "keep":
            return False  # replaced in path, their files stay in the branch's history below the site's commit
        named = ", ".join(sorted(entries)[:3])
        if self.path:
            raise permanent(
                f"{self.shown_remote} {self.branch} holds files broadcaster did not publish, in "
                f"publish.{self.name}.path too ({named}); replacing the branch with one commit would drop them "
                f'and their history. Point path at a folder of its own (a new one) with history = "keep", or '
                f"publish to a branch of its own (e.g. {self._another_branch()}: the first publish creates it). Nothing "
                "was pushed."
            )
        raise permanent(
            f"{self.shown_remote} {self.branch} holds files broadcaster did not publish ({named}); "
            f"the site would replace them. Publish to a branch of its own (e.g. {self._another_branch()}: the first "
            f"publish creates it), or put the site in a folder of this branch with publish.{self.name}.path and "
            'history = "keep". Nothing was pushed.'
        )

    def _another_branch(self) -> str:
        """A branch name to give as an example of one of its own: not the one that holds others' files."""
        return "gh-pages" if self.branch != "gh-pages" else "status-page"

    def _ours(self, commit: str) -> bool:
        """Whether ``commit`` is one broadcaster made (False for one this clone does not hold). Versions
        before 2026-12-02 wrote the subject alone, no trailers."""
        try:
            message = self._git("log", "-1", "--format=%B", "--end-of-options", commit)
        except _GitFailed:
            return False
        return bool(_SEALED.search(message) or _GENERATION.search(message) or _OLD_SUBJECT.fullmatch(message.strip()))

    def _generation(self, tip: str, store_id: str) -> int | None:
        """How far ``store_id`` had got when it built the tip's site; None when another store built it."""
        message = self._local("log", "-1", "--format=%B", "--end-of-options", tip)
        store, sealed, plain = _STORE.search(message), _SEALED.search(message), _GENERATION.search(message)
        if not store_id or store is None:
            return None
        if sealed and store.group(1) == store_digest(store_id):
            generation = (unseal(store_id, sealed.group(1)) or {}).get("generation")
            if isinstance(generation, str) and generation.isascii() and generation.isdigit():
                return int(generation)
            return None
        return int(plain.group(1)) if plain and store.group(1) == store_id else None  # an older version's

    def _kept(
        self, entries: dict[str, tuple[str, str]], site: BuiltSite, site_there: bool
    ) -> dict[str, tuple[str, str]]:
        """What of the tip stays: everything outside ``path``; where the site goes, CNAME and .nojekyll and,
        when the site is there already, every file it neither writes nor could have written: what a
        colleague committed on top (robots.txt, a domain verification file), which the web host serves
        beside it. A file shaped like a site's (an incident page, a feed) is the site's: dropped when this
        build lacks it. A folder taken over (``history = "keep"``) is replaced whole."""
        prefix = f"{self.path}/" if self.path else ""
        kept = {p: e for p, e in entries.items() if prefix and not p.startswith(prefix)}
        if kept and self.history == "replace":
            raise permanent(
                f"{self.branch} holds files outside publish.{self.name}.path ({', '.join(sorted(kept)[:3])}); "
                "replacing the branch with one commit would drop their history. Publish to a branch of its "
                f'own (e.g. {self._another_branch()}), or set publish.{self.name}.history = "keep".'
            )
        for path, entry in entries.items():
            relative = path[len(prefix):]
            beside = relative in self.keep or (site_there and not is_site_path(relative))
            if path.startswith(prefix) and beside and relative not in site.hashes:
                kept[path] = entry
        return kept

    def _write_tree(self, site: BuiltSite, kept: dict[str, tuple[str, str]]) -> str:
        """The tree of ``kept`` plus the site under ``path``; blobs written only for changed files."""
        prefix = f"{self.path}/" if self.path else ""
        blobs = self._blobs(site)
        lines = [f"{mode} {'commit' if mode == '160000' else 'blob'} {obj}\t{path}" for path, (mode, obj) in kept.items()]
        lines += [f"100644 blob {blobs[relative]}\t{prefix}{relative}" for relative in sorted(site.hashes)]
        index = self.cache / ".git" / "broadcaster-index"
        index.unlink(missing_ok=True)
        env = {"GIT_INDEX_FILE": str(index)}
        self._local("update-index", "-z", "--index-info", env=env, stdin="".join(line + "\0" for line in lines))
        return self._local("write-tree", env=env).strip()

    def _blobs(self, site: BuiltSite) -> dict[str, str]:
        """Each site file's blob id; only files whose hash changed since the last publish are read."""
        record = self.cache / ".git" / "broadcaster-blobs.json"
        try:
            known: dict[str, list[str]] = json.loads(record.read_text())
        except (OSError, ValueError):
            known = {}
        reuse = {p: known[p][1] for p, h in site.hashes.items() if p in known and known[p][0] == h}
        present = self._present(set(reuse.values()))
        blobs = {p: b for p, b in reuse.items() if b in present}
        todo = sorted(set(site.hashes) - set(blobs))
        for relative in todo:
            site.read(relative)  # refuses a link and a private value; git then reads the same file
        if todo:
            paths = "".join(f"{os.path.join(site.root, relative)}\n" for relative in todo)
            written = self._local("hash-object", "-w", "--no-filters", "--stdin-paths", stdin=paths).split()
            blobs.update(zip(todo, written, strict=True))
        record.write_text(json.dumps({p: [site.hashes[p], b] for p, b in blobs.items()}))
        return blobs

    def _present(self, objects: set[str]) -> set[str]:
        if not objects:
            return set()
        listing = self._local("cat-file", "--batch-check=%(objectname)", stdin="".join(f"{o}\n" for o in objects))
        return {line for line in listing.split() if line in objects}

    def _changed_files(self, tip: str | None, tree: str) -> int:
        if tip is None:
            return len(self._local("ls-tree", "-r", "--name-only", "-z", "--end-of-options", tree).split("\0")) - 1
        listing = self._local("diff-tree", "-r", "--name-only", "-z", "--end-of-options", f"{tip}^{{tree}}", tree)
        return len([name for name in listing.split("\0") if name])

    def _commit(self, tree: str, parent: str | None, message: str) -> str:
        name, email = self.committer
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
               "GIT_COMMITTER_EMAIL": email}
        parents = ["-p", parent] if parent else []
        return self._local("-c", "commit.gpgsign=false", "commit-tree", *parents, "-F", "-", "--end-of-options", tree,
                           env=env, stdin=message).strip()

    def _push(self, url: str, env: dict[str, str], commit: str, tip: str | None) -> None:
        ref = f"refs/heads/{self.branch}"
        # "replace": force, but only over the tip this publish started from (empty: the branch
        # must not exist), so a site another machine pushed meanwhile is never lost unseen.
        lease = [] if self.history == "keep" else [f"--force-with-lease={ref}:{tip or ''}"]
        try:
            self._git("push", "-q", *lease, "--", url, f"{commit}:{ref}", network=True, env=env)
        except _GitFailed as failed:
            if _damaged(failed.stderr):  # pack-objects reading a blob or tree a crash emptied
                raise _CloneDamaged(failed) from None
            raise self._error(failed, "push") from None
        self._git_quiet("update-ref", f"refs/remotes/origin/{self.branch}", commit)

    # -- checking ------------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """``git ls-remote``: can we reach the repository and read the branch? Changes nothing."""
        import asyncio
        return await asyncio.to_thread(self._check)

    def _check(self) -> list[CheckResult]:
        target = f"{self.shown_remote} {self.branch}"
        try:
            url, env = self._location()
            found = self._git("ls-remote", "--heads", "--", url, f"refs/heads/{self.branch}", network=True,
                              cwd=self.base_dir if self.base_dir.is_dir() else Path.cwd(), env=env)
        except ConfigError as exc:
            return [CheckResult(self.name, target, False, str(exc))]
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

    def _git(
        self, *args: str, network: bool = False, cwd: Path | None = None, env: dict[str, str] | None = None,
        stdin: str | None = None, stdin_bytes: bytes | None = None, timeout: float | None = None,
    ) -> str:
        """Run git in the clone and return its output; raise _GitFailed when it exits non-zero."""
        full_env = {k: v for k, v in os.environ.items() if _passed(k)}
        # Never the repository git would find above the clone (the operator's own, when the clone's .git is
        # broken): git works in the clone or, for ls-remote before the first publish, in none.
        full_env.update(GIT_DIR=str(self.cache / ".git"), GIT_WORK_TREE=str(self.cache),
                        GIT_CEILING_DIRECTORIES=str(self.cache.parent))
        # No prompts (publishing is unattended and runs beside other deliveries); messages in
        # English, so that they can be classified.
        full_env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C", **(env or {}))
        data = stdin_bytes if stdin_bytes is not None else (stdin.encode() if stdin is not None else None)
        try:
            done = subprocess.run(
                ["git", *_NO_AUTO_GC, *args], check=False, cwd=cwd or self.cache, env=full_env,
                input=data, stdin=None if data is not None else subprocess.DEVNULL, capture_output=True,
                timeout=timeout or (self.network_timeout if network else self.local_timeout),
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
        stderr = done.stderr.decode("utf-8", errors="replace")
        if done.returncode != 0:
            raise _GitFailed(next(a for a in args if not a.startswith("-") and "=" not in a), stderr)
        return done.stdout.decode("utf-8", errors="replace")

    def _git_quiet(self, *args: str) -> None:
        """A housekeeping command whose failure changes nothing (a section or ref that is not there)."""
        try:
            self._git(*args)
        except _GitFailed:
            pass

    def _local(self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
        """A command on the clone alone; its failure is the clone's, with the advice to make it again."""
        try:
            return self._git(*args, env=env, stdin=stdin)
        except _GitFailed as failed:
            if _damaged(failed.stderr):
                raise _CloneDamaged(failed) from None
            raise self._local_error(failed) from None

    def _pack(self) -> None:
        """Pack the loose objects publishes leave (each writes its blobs, trees and commit loose, and a small fetch
        is unpacked loose), when there are enough of them, in the foreground and under the clone's lock: git's own
        automatic gc is off (``_NO_AUTO_GC``). Best effort: the site is published already."""
        try:
            self._git("-c", f"gc.auto={_GC_AUTO}", "-c", "gc.autoDetach=false", "gc", "--auto", "--quiet",
                      timeout=self.network_timeout)
        except _GitFailed as failed:
            # An object a crash emptied that this publish did not need to read (the remote has it): gc would
            # fail on it every time. Still under the lock, the clone goes; the next publish makes it again.
            if _damaged(failed.stderr) and not self.cache.is_symlink():
                shutil.rmtree(self.cache, ignore_errors=True)
        except DeliveryError:
            pass  # the next publish tries again

    def _error(self, failed: _GitFailed, doing: str) -> DeliveryError:
        """A network git command failed: retryable or permanent, with the advice for it."""
        stderr = failed.stderr
        remote = self.shown_remote
        said = self.clean(_last_lines(stderr))
        if self._force_refused(stderr):
            return permanent(
                f"{remote} refuses forced pushes to {self.branch} (receive.denyNonFastForwards, which "
                "`git init --shared` sets, or a rule of the host), and history = \"replace\" pushes a new commit "
                f"over the branch on every publish. Allow forced pushes to {self.branch} (in a bare repository: "
                "git config receive.denyNonFastForwards false), or publish to a branch that allows them, or set "
                f'publish.{self.name}.history = "keep" (refused beside a customer\'s feed_token). Nothing was '
                f"pushed. git said: {said}"
            )
        if any(s in stderr for s in _CERTIFICATE):
            return permanent(
                f"git does not trust the TLS certificate of {remote} (self-signed, signed by a company's own CA, "
                "expired, or made out to another host name), so it refused to connect; another attempt would be "
                "refused the same way. If the host uses an internal CA, give git that CA's certificate: "
                "GIT_SSL_CAINFO=/path/to/ca.pem in broadcaster's environment, or `git config --global "
                "http.sslCAInfo /path/to/ca.pem`. Otherwise check the host name in "
                f"publish.{self.name}.remote and this machine's clock. git said: {said}"
            )
        if doing == "push" and any(s in stderr for s in _REJECTED):  # a fetch never loses a race
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
        if doing == "push" and any(s in stderr for s in _DECLINED):
            # The host's hook or rule read what was pushed and said no (GitHub's push protection, a size limit):
            # its own first words say why, and the last three lines are git's about the refusal itself.
            words = [line.strip()[len("remote:"):].strip() for line in stderr.splitlines()
                     if line.strip().startswith("remote:") and line.strip() != "remote:"]
            why = self.clean(" / ".join(words[:_HOOK_LINES])) or said
            return permanent(f"a hook or rule of {remote} declined the push to {self.branch}: {why}. Settle what "
                             "it names (with the repository's owners, if the rule is theirs) or publish to another "
                             "repository or branch, then run `broadcaster retry`. Nothing was pushed.")
        if any(s in stderr for s in _NOT_FOUND):
            return permanent(f"repository {remote} not found. Check publish.{self.name}.remote and that "
                             f"your credentials can see it. git said: {said}")
        return permanent(f"git {doing} to {remote} failed: {said}. Check publish.{self.name} and "
                         "try the same git command by hand.")

    def _force_refused(self, stderr: str) -> bool:
        """Whether the server refused our forced push as such; a lost lease is the client's "[rejected]" (the
        tip moved: someone else pushed) and is worth another attempt, this never is."""
        return self.history == "replace" and any(
            "[remote rejected]" in line and "non-fast-forward" in line for line in stderr.splitlines())

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


class _CloneDamaged(Exception):
    """git found the clone's own objects or refs damaged; ``_publish_repairing`` makes it again."""

    def __init__(self, failed: _GitFailed) -> None:
        super().__init__(failed.command)
        self.failed = failed


def _damaged(stderr: str) -> bool:
    """Whether git's words name damage in the clone; the remote's own (``remote:`` lines, a push the remote
    refused) are the remote's."""
    return any(mark in line for line in stderr.splitlines()
               if not line.lstrip().startswith("remote:") and "rejected]" not in line for mark in _DAMAGED)


def _passed(name: str) -> bool:
    """Whether git is handed the variable ``name`` of this process's environment (see ``_DENIED_ENV``)."""
    return not name.startswith("GIT_") or (name not in _DENIED_ENV and not name.startswith(_DENIED_PREFIXES))


def _trailers(site: BuiltSite) -> str:
    """Which store built ``site`` (its digest) and how far it had got (sealed, padded: a longer number must not
    show as a longer seal). The store's id is the seal's key: it never goes into the branch."""
    if not site.store:
        return "Broadcaster-Store: unknown\nBroadcaster-Sealed: none\n"
    sealed = seal(site.store, {"generation": f"{site.generation:020d}"})
    return f"Broadcaster-Store: {store_digest(site.store)}\nBroadcaster-Sealed: {sealed}\n"


def _last_lines(stderr: str, count: int = 3) -> str:
    """git's last words that say what went wrong; its advice after them (a lock file's "remove the file
    manually") would push out the line that names the file."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    said = [line for line in lines if line.startswith(("fatal:", "error:", "!", "remote:"))] or lines
    return " / ".join(said[-count:]) or "no message"


def _private_folder(folder: Path) -> None:
    """``folder`` (created with its missing parents) readable by the owner only, whatever the umask."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        os.chmod(path, PRIVATE_FOLDER)
