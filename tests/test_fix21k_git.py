"""Fix 21k: the git publish target hands git the transport settings of its environment (GIT_SSL_NO_VERIFY...), says
what to do about a certificate git does not trust, makes a clone a crash damaged again instead of blaming the remote,
and leaves no git working in the clone after the publish let go of its lock.

Real repositories in tmp_path, a real smart-HTTP server (git http-backend as CGI) behind TLS on loopback with a
certificate from a throwaway CA, and the real CLI. HOME is a temporary folder (no_git_config, autouse): nothing here
reads or writes the real ~/.gitconfig.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from broadcaster.site.hosts.git import _GitFailed
from tests.conftest import Project
from tests.test_hosts_git import SITE, failure, git, make_host, publish, tree, write_site
from tests.test_hosts_git_safety import no_git_config, pages_config, remote  # noqa: F401


class _Backend(BaseHTTPRequestHandler):
    """git http-backend as CGI, as a GitLab or Gitea serves a repository over smart HTTP."""

    protocol_version = "HTTP/1.1"
    root: Path

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        body = self._body() if self.command == "POST" else b""
        path, _, query = self.path.partition("?")
        env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
               "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "REMOTE_USER": "ci", "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.root)}
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, found, payload = out.partition(b"\r\n\r\n")
        if not found:
            head, _, payload = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve


@pytest.fixture
def internal_host(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """``https://127.0.0.1:<port>/site.git`` with a certificate no CA of this machine signed (an internal GitLab),
    the bare repository behind it, and the throwaway CA's certificate."""
    root = tmp_path / "srv"
    root.mkdir()
    bare = root / "site.git"
    git("init", "-q", "--bare", str(bare))
    git("--git-dir", str(bare), "config", "http.receivepack", "true")
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Backend,), {"root": root}))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "internal-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/site.git", bare, ca_file
    finally:
        server.shutdown()
        server.server_close()


def post(project: Project) -> str:
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors on the API.")
    assert posted.exit_code == 0, posted.output
    return str(json.loads(posted.stdout)["incident_id"])


def withdraw(project: Project, incident: str) -> tuple[int, str]:
    done = project.cli("withdraw", "--yes", incident, "--reason", "posted on the wrong page")
    return done.exit_code, " ".join(done.output.split())


def clone(project: Project) -> Path:
    return project.root / ".broadcaster" / "git" / "pages" / ".git"


# -- 1. GIT_* variables: the transport's pass, those that point git elsewhere do not ---------------------------


@pytest.mark.parametrize("how", ["GIT_SSL_NO_VERIFY", "GIT_CONFIG_GLOBAL"])
def test_an_internal_https_host_the_environment_says_to_trust_is_published_to(
    internal_host: tuple[str, Path, Path], project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """GIT_SSL_NO_VERIFY=1 (CI runners, internal GitLab) and a config file of the operator's own named by
    GIT_CONFIG_GLOBAL (http.sslVerify there, as in ~/.gitconfig) reach git. The variables that would send the site
    elsewhere, change the clone or write what git does to a file still do not."""
    url, bare, _ca = internal_host
    if how == "GIT_SSL_NO_VERIFY":
        monkeypatch.setenv("GIT_SSL_NO_VERIFY", "1")
    else:
        (tmp_path / "ci-gitconfig").write_text("[http]\n\tsslVerify = false\n")
        monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "ci-gitconfig"))
    trace = tmp_path / "trace"
    denied = {"GIT_TRACE": f"{trace}.1", "GIT_TRACE_CURL": f"{trace}.2", "GIT_TRACE2_EVENT": f"{trace}.3",
              "GIT_DEFAULT_HASH": "sha256", "GIT_COMMITTER_DATE": "2001-01-01T00:00:00Z",
              "GIT_AUTHOR_NAME": "Someone Else", "GIT_OBJECT_DIRECTORY": str(tmp_path / "elsewhere"),
              "GIT_CURL_VERBOSE": "1"}
    for name, value in denied.items():
        monkeypatch.setenv(name, value)
    pages_config(project, url)

    incident = post(project)
    code, said = withdraw(project, incident)

    for name in denied:  # the test's own git below reads the remote
        monkeypatch.delenv(name)

    assert code == 0, said
    assert "index.html" in tree(bare, "gh-pages")
    assert f"incidents/{incident}.html" not in tree(bare, "gh-pages"), said
    assert git("--git-dir", str(bare), "log", "-1", "--format=%an %cd", "--date=format:%Y", "gh-pages").split() \
        == ["broadcaster", time.strftime("%Y", time.gmtime())]
    assert not list(tmp_path.glob("trace.*")) and not (tmp_path / "elsewhere").exists()


_OPENSSL = "fatal: unable to access 'https://git.internal/site.git/': SSL certificate problem: "


@pytest.mark.parametrize("said", [
    _OPENSSL + "self-signed certificate",
    _OPENSSL + "self signed certificate in certificate chain",
    _OPENSSL + "unable to get local issuer certificate",
    _OPENSSL + "certificate has expired",
    "fatal: unable to access 'https://git.internal/site.git/': SSL: no alternative certificate subject name matches "
    "target host name 'git.internal'",
    "fatal: unable to access 'https://git.internal/site.git/': schannel: SEC_E_UNTRUSTED_ROOT (0x80090325)",
], ids=["self-signed", "self-signed chain", "internal CA", "expired", "host name", "schannel"])
def test_a_certificate_git_does_not_trust_is_permanent_and_says_what_to_do_in_every_build_of_git(
    tmp_path: Path, said: str
) -> None:
    """git's words differ with the TLS library its libcurl uses (OpenSSL on macOS and RHEL, Schannel on Windows);
    "SSL" alone was retried for ever as a network problem. A handshake cut short still is worth another attempt."""
    host = make_host("https://git.internal/site.git", tmp_path)

    error = host._error(_GitFailed("fetch", said + "\n"), "fetch")

    assert not error.retryable, str(error)
    assert "does not trust the TLS certificate" in str(error) and "GIT_SSL_CAINFO" in str(error), str(error)
    cut = "fatal: unable to access 'https://git.internal/site.git/': gnutls_handshake() failed: The TLS connection " \
          "was non-properly terminated.\n"
    assert host._error(_GitFailed("fetch", cut), "fetch").retryable


def test_a_host_whose_certificate_git_does_not_trust_is_refused_with_the_advice_that_works(
    internal_host: tuple[str, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, bare, ca = internal_host
    site = write_site(tmp_path / "public", SITE)

    error = failure(make_host(url, tmp_path), site)

    assert not error.retryable, str(error)
    assert "does not trust the TLS certificate" in str(error) and "GIT_SSL_CAINFO" in str(error), str(error)
    monkeypatch.setenv("GIT_SSL_CAINFO", str(ca))  # as told
    publish(make_host(url, tmp_path), site)
    assert tree(bare, "gh-pages") == SITE


def test_a_403_in_the_hosts_port_is_not_taken_for_a_refusal(tmp_path: Path) -> None:
    """The internal host above, on port 34031, was told "your git credentials may not read this repository"."""
    host = make_host("https://git.internal:4031/site.git", tmp_path)

    error = host._error(_GitFailed("fetch", "fatal: repository 'https://git.internal:4031/site.git/' not found\n"),
                        "fetch")

    assert "not found" in str(error) and "may not read" not in str(error), str(error)
    refused = "fatal: unable to access 'https://git.internal/site.git/': The requested URL returned error: 403\n"
    assert "may not read this repository" in str(host._error(_GitFailed("fetch", refused), "fetch"))


# -- 2. a clone a crash damaged ---------------------------------------------------------------------------


def _empty(dot_git: Path, obj: str) -> None:
    path = dot_git / "objects" / obj[:2] / obj[2:]
    os.chmod(path, 0o644)
    path.write_bytes(b"")  # what a power loss leaves of a loose object git did not flush


@pytest.mark.parametrize("damage", ["tip commit object empty", "tip tree object empty", "tracking ref empty"])
def test_a_clone_a_crash_damaged_is_made_again_and_the_withdrawal_lands(
    project: Project, remote: Path, damage: str  # noqa: F811
) -> None:
    pages_config(project, str(remote))
    incident = post(project)
    dot_git = clone(project)
    tip = git("--git-dir", str(dot_git), "rev-parse", "refs/remotes/origin/gh-pages").strip()
    if damage == "tracking ref empty":
        (dot_git / "refs" / "remotes" / "origin" / "gh-pages").write_bytes(b"")
    else:
        _empty(dot_git, tip if "commit" in damage else git("--git-dir", str(dot_git), "rev-parse", f"{tip}^{{tree}}").strip())

    code, said = withdraw(project, incident)

    assert code == 0 and "someone else pushed" not in said and "was made again" in said, said
    assert f"incidents/{incident}.html" not in tree(remote, "gh-pages"), said
    assert "index.html" in tree(remote, "gh-pages")
    assert git("--git-dir", str(dot_git), "fsck", "--no-dangling") == ""


def test_damage_that_making_the_clone_again_does_not_cure_is_named_once_never_blamed_on_a_race(
    tmp_path: Path, remote: Path  # noqa: F811
) -> None:
    """The remote itself (a file:// or path remote on the same disk) holds an emptied object: git's words are
    the same as for the clone's, the clone is made again once, and then the message says where to look."""
    host = make_host(remote, tmp_path)
    publish(host, write_site(tmp_path / "public", SITE))
    _empty(remote, git("--git-dir", str(remote), "rev-parse", "gh-pages").strip())

    error = failure(host, write_site(tmp_path / "public", {**SITE, "index.html": b"<!doctype html><title>2</title>"}))

    said = str(error)
    assert not error.retryable and "someone else pushed" not in said, said
    assert "even in the cached clone made anew" in said and "git fsck" in said and "Nothing was pushed" in said, said


# -- 3. no git left working in the clone --------------------------------------------------------------------


def _old_loose_objects(dot_git: Path, count: int = 9000) -> None:
    """What months of publishes leave in the clone: loose objects of replaced sites, unreachable, a month old (gc
    prunes them after two weeks, git's default); above git's gc.auto (6700)."""
    import hashlib
    import zlib

    month_ago = time.time() - 30 * 86400
    for n in range(count):
        raw = b"blob %d\0" % len(data := f"an old page, version {n}\n".encode()) + data
        name = hashlib.sha1(raw).hexdigest()
        (dot_git / "objects" / name[:2]).mkdir(exist_ok=True)
        (dot_git / "objects" / name[:2] / name[2:]).write_bytes(zlib.compress(raw, 1))
        os.utime(dot_git / "objects" / name[:2] / name[2:], (month_ago, month_ago))


def test_git_gc_runs_in_the_foreground_under_the_lock_and_packs_what_publishes_left_loose(
    tmp_path: Path, remote: Path  # noqa: F811
) -> None:
    """With thousands of loose objects (months of publishes), the fetch's automatic gc detached and went on in the
    clone after the publish let go of its lock: the next publish removed a live git's lock files."""
    host = make_host(remote, tmp_path)
    publish(host, write_site(tmp_path / "public", SITE))
    dot_git = tmp_path / ".broadcaster" / "git" / "pages" / ".git"
    _old_loose_objects(dot_git)

    publish(host, write_site(tmp_path / "public", {**SITE, "index.html": b"<!doctype html><title>2</title>"}))

    seen: set[str] = set()
    give_up = time.monotonic() + 1.5
    while time.monotonic() < give_up:
        seen |= {p.name for p in dot_git.rglob("*") if p.name == "gc.pid" or p.name.endswith(".lock")}
        time.sleep(0.02)
    assert not seen, f"git still worked in the clone after the publish returned: {sorted(seen)}"
    loose = dict(line.split(": ") for line in git("--git-dir", str(dot_git), "count-objects", "-v").splitlines())
    assert int(loose["count"]) < 100, loose
    assert tree(remote, "gh-pages")["index.html"] == b"<!doctype html><title>2</title>"


def test_an_emptied_object_the_publish_did_not_need_is_not_left_to_fail_every_gc(
    tmp_path: Path, remote: Path  # noqa: F811
) -> None:
    """A crash emptied the blob of a file no publish changes (the stylesheet): the remote has it, so the publishes
    go on, but packing reads it and fails, every time. The clone is made again instead."""
    host = make_host(remote, tmp_path)
    publish(host, write_site(tmp_path / "public", SITE))
    dot_git = tmp_path / ".broadcaster" / "git" / "pages" / ".git"
    _empty(dot_git, git("--git-dir", str(dot_git), "rev-parse", "refs/remotes/origin/gh-pages:style.0123abcd.css").strip())
    _old_loose_objects(dot_git)

    publish(host, write_site(tmp_path / "public", {**SITE, "index.html": b"<!doctype html><title>2</title>"}))
    publish(host, write_site(tmp_path / "public", {**SITE, "index.html": b"<!doctype html><title>3</title>"}))

    assert tree(remote, "gh-pages") == {**SITE, "index.html": b"<!doctype html><title>3</title>"}
    assert git("--git-dir", str(dot_git), "fsck", "--no-dangling") == ""
