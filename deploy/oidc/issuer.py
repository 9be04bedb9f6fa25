"""The local OpenID Connect provider: NAV's mock-oauth2-server on loopback, without Docker.

Its jars come from Maven Central (pom.xml next to this file) and it runs as a plain JVM, like the
Kafka broker. It is a real OpenID Connect server (discovery document, JWKS, signed JWT access
tokens, an authorization-code login page, password and client-credentials grants); the platform
verifies its tokens exactly as it would verify NHS CIS2's or Entra ID's. Which claims each demo
user gets, and the signing key, come from a JSON config written by the caller
(``oversight_runtime.demo_identity.issuer_config``). Stdlib only, so the run command and the
tests can load it by path.
    python deploy/oidc/issuer.py fetch                              # resolve the jars (cached)
    python deploy/oidc/issuer.py run --port 8090 --config var/oidc/config.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import FrameType, ModuleType

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
POM = HERE / "pom.xml"
DEFAULT_JARS = REPO / "var" / "oidc" / "jars"
MAIN_CLASS = "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"


def _maven_jars() -> ModuleType:
    """deploy/maven_jars.py, loaded by path (this file is itself loaded by path, not as a package)."""
    name = "oversight_deploy_maven_jars"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "maven_jars.py")
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def ensure_jars(cache_dir: Path = DEFAULT_JARS) -> Path:
    """The folder of the provider's runtime jars, resolved with Maven on first use (cached)."""
    path: Path = _maven_jars().ensure_jars(POM, cache_dir, "mock-oauth2-server-*.jar")
    return path


class OidcIssuer:
    """One mock-oauth2-server process on 127.0.0.1, serving the issuers named in its config.

    An issuer is a path: ``http://127.0.0.1:<port>/<issuer id>``. The first issuer id in the
    config signs with the key the config gives; any other path the server is asked about signs
    with a key of its own, so its tokens never verify against the first issuer's JWKS.
    """

    def __init__(self, jar_dir: Path = DEFAULT_JARS) -> None:
        self.jar_dir = jar_dir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.issuer_id = ""
        self._config_dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issuer(self, issuer_id: str | None = None) -> str:
        """The issuer URL (the ``iss`` claim) of ``issuer_id``, the configured one by default."""
        return f"{self.url}/{issuer_id or self.issuer_id}"

    def start(
        self,
        config: dict[str, object],
        port: int | None = None,
        log_path: Path | None = None,
        timeout: float = 60,
    ) -> None:
        """Start the server with ``config`` (mock-oauth2-server's JSON_CONFIG) and wait until its
        configured issuer has bound its signing key, or raise RuntimeError with the log tail."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"OpenID Connect provider already running (pid {self.process.pid})")
        self.jar_dir = ensure_jars(self.jar_dir)
        java = _maven_jars().tool("java")
        self.port = port or _maven_jars().free_port()
        callbacks = config.get("tokenCallbacks")
        if not isinstance(callbacks, list) or not callbacks:
            raise ValueError("the config names no issuer (tokenCallbacks is empty)")
        self.issuer_id = str(callbacks[0]["issuerId"])
        # The config holds the private signing key: a private temp dir, removed at stop.
        self._config_dir = tempfile.TemporaryDirectory(prefix="oidc-")
        config_path = Path(self._config_dir.name) / "config.json"
        config_path.write_text(json.dumps(config))
        config_path.chmod(0o600)
        self.log_path = log_path or Path(self._config_dir.name) / "issuer.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "SERVER_HOSTNAME": "127.0.0.1",
            "SERVER_PORT": str(self.port),
            "JSON_CONFIG_PATH": str(config_path),
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [java, "-Xms32m", "-Xmx192m", "-XX:+UseSerialGC", "-cp", f"{self.jar_dir}/*", MAIN_CLASS],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"OpenID Connect provider exited ({self.process.returncode}):\n{self._tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/isalive", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"OpenID Connect provider not ready in {timeout}s:\n{self._tail()}"
                    ) from None
                time.sleep(0.1)
        # The server gives each issuer a key when it first signs for it: sign once for ours now,
        # before anyone else can ask, so the configured key is bound to the configured issuer.
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": "warm-up",
                "client_secret": "-",
                "scope": "openid",
            }
        ).encode()
        with urllib.request.urlopen(f"{self.issuer()}/token", data=form, timeout=10) as response:
            json.loads(response.read())

    def _tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text("utf-8", errors="replace").splitlines()[-30:])

    def stop(self, grace: float = 10) -> None:
        _maven_jars().stop_process(self.process, grace)
        if self._config_dir is not None:
            self._config_dir.cleanup()
            self._config_dir = None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="resolve the provider's jars from Maven Central")
    run = sub.add_parser("run", help="run the provider in the foreground until SIGINT/SIGTERM")
    run.add_argument("--port", type=int, default=8090)
    run.add_argument("--config", type=Path, required=True, help="mock-oauth2-server JSON config")
    args = parser.parse_args()
    if args.command == "fetch":
        print(f"OpenID Connect provider jars in {ensure_jars()}")
        return 0

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    issuer = OidcIssuer()
    try:
        issuer.start(json.loads(args.config.read_text("utf-8")), port=args.port)
        print(f"OpenID Connect provider ready: {issuer.issuer()}", flush=True)
        assert issuer.process is not None
        return issuer.process.wait() or 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        issuer.stop()


if __name__ == "__main__":
    sys.exit(main())
