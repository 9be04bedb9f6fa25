"""A folder of jars resolved from Maven Central by a pom, and the JDK tools: shared by the Kafka
broker (deploy/kafka) and the local OpenID Connect provider (deploy/oidc).

Stdlib only, so the run command and the tests can load it by path before anything is installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

STAMP = ".pom-sha256"  # written last: its presence means a complete copy for this exact pom


def free_port(avoid: int = 0) -> int:
    """A loopback port free right now (another process may still take it before ours binds)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port != avoid:
            return port


def tool(name: str) -> str:
    """Absolute path of ``java``/``mvn`` (``java`` from $JAVA_HOME first), or a clear error."""
    java_home = os.environ.get("JAVA_HOME")
    if name == "java" and java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which(name)
    if found is None:
        need = "a JDK 17+ (java)" if name == "java" else "Maven 3 (mvn) to fetch the jars"
        raise RuntimeError(f"{name} is not on PATH: the platform's JVM parts need {need}")
    return found


def ensure_jars(pom: Path, cache_dir: Path, main_jar: str) -> Path:
    """The folder of ``pom``'s runtime jars, resolved with Maven on first use.

    Fast when a stamp in the folder matches the pom's hash. Otherwise Maven copies into a staging
    folder that replaces ``cache_dir`` whole, so a changed pom never leaves two versions on the
    classpath and an interrupted copy is never mistaken for a complete one. A file lock keeps
    parallel test processes from fetching at the same time. ``main_jar`` is a glob that must
    match after the copy (e.g. ``kafka_2.13-*.jar``).
    """
    cache_dir = Path(cache_dir).resolve()
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    stamp = cache_dir / STAMP
    if stamp.is_file() and stamp.read_text() == digest:
        return cache_dir
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_dir.parent / f".{cache_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == digest:
            return cache_dir  # another process fetched while we waited
        mvn = tool("mvn")
        tool("java")  # fail now rather than after a download
        staging = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}-", dir=cache_dir.parent))
        try:
            command = [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
                       f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0 or not any(staging.glob(main_jar)):
                raise RuntimeError(
                    f"mvn could not fetch the jars of {pom} (exit {result.returncode}):\n"
                    f"{(result.stdout + result.stderr)[-4000:]}"
                )
            (staging / STAMP).write_text(digest)
            if cache_dir.exists():
                shutil.rmtree(cache_dir)
            staging.rename(cache_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return cache_dir


def stop_process(process: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM (the JVM shuts down cleanly), SIGKILL after ``grace`` seconds."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
