"""A real Apache Kafka 4 broker (KRaft, one combined broker+controller) on loopback, without Docker.

The broker's jars come from Maven Central (pom.xml next to this file) and it runs as a plain JVM.
Stdlib only, so the run command and the tests can load it (by path, or as a script) before
anything else is installed.
    python deploy/kafka/broker.py fetch                      # resolve the jars (cached)
    python deploy/kafka/broker.py run --port 9092 --data-dir var/kafka/data
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType, ModuleType

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
POM = HERE / "pom.xml"
LOG_CONFIG = HERE / "log4j2.properties"
DEFAULT_JARS = REPO / "var" / "kafka" / "jars"
READY_LINE = b"Kafka Server started"  # logged by kafka.server.KafkaRaftServer once requests are served


def _maven_jars() -> ModuleType:
    """deploy/maven_jars.py, loaded by path (this file is itself loaded by path, not as a package)."""
    name = "oversight_deploy_maven_jars"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "maven_jars.py")
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


_free_port = _maven_jars().free_port
_tool = _maven_jars().tool


def ensure_jars(cache_dir: Path = DEFAULT_JARS) -> Path:
    """The folder of the broker's runtime jars, resolved with Maven on first use (cached)."""
    path: Path = _maven_jars().ensure_jars(POM, cache_dir, "kafka_2.13-*.jar")
    return path


class KafkaBroker:
    """One KRaft node on 127.0.0.1; its config, data and ``broker.log`` live in ``data_dir``.

    A plain class, not a @dataclass: dataclasses need the module in sys.modules, and callers load
    this file by path with importlib (deploy/run.py does not register it).
    """

    def __init__(self, jar_dir: Path = DEFAULT_JARS, overrides: dict[str, str] | None = None) -> None:
        self.jar_dir = jar_dir
        #: Extra server.properties (e.g. shorter timeouts for fault tests), over the defaults.
        self.overrides = dict(overrides or {})
        self.port = 0
        self.controller_port = 0
        self.data_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._own_dir = False

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def log_path(self) -> Path:
        assert self.data_dir is not None, "not started"
        return self.data_dir / "broker.log"

    def _properties(self) -> str:
        """Single-node settings: every internal topic at replication factor 1, no rebalance delay."""
        assert self.data_dir is not None
        listeners = f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            # bootstrap.servers (not quorum.voters): a dynamic quorum, as `format --standalone` needs
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": listeners,
            "advertised.listeners": listeners,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": "2097152",  # default takes 128 MiB of a 512 MiB heap
        }
        return "".join(f"{key}={value}\n" for key, value in {**settings, **self.overrides}.items())

    def _java(self, *args: str) -> list[str]:
        """A JVM command line on our jars; a small heap and serial GC suit one test broker."""
        return [_tool("java"), "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC",
                f"-Dlog4j2.configurationFile={LOG_CONFIG}", "-cp", f"{self.jar_dir}/*", *args]  # fmt: skip

    def _format(self, config: Path, timeout: float) -> None:
        """Give a new data dir a random cluster id; a formatted one (meta.properties) is kept as is."""
        assert self.data_dir is not None
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        uuid = subprocess.run(self._java("kafka.tools.StorageTool", "random-uuid"),
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        lines = uuid.stdout.split()
        if uuid.returncode != 0 or not lines:
            raise RuntimeError(f"kafka random-uuid failed:\n{uuid.stdout}{uuid.stderr}")
        formatted = subprocess.run(
            self._java("kafka.tools.StorageTool", "format", "-t", lines[-1], "-c", str(config), "--standalone"),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if formatted.returncode != 0:
            raise RuntimeError(f"kafka storage format failed:\n{formatted.stdout}{formatted.stderr}")

    def start(
        self,
        port: int | None = None,
        controller_port: int | None = None,
        data_dir: Path | None = None,
        timeout: float = 90,
    ) -> None:
        """Start the broker and return once it serves requests, or raise RuntimeError with the log tail.

        A bound port is not readiness (the socket binds before requests are served): we wait for
        the 'Kafka Server started' line. Free loopback ports and a temp dir are picked when not given.
        """
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"kafka already running (pid {self.process.pid})")
        self.jar_dir = ensure_jars(self.jar_dir)
        _tool("java")  # fail before making any directory
        self.port = port or _free_port()
        self.controller_port = controller_port or _free_port(avoid=self.port)
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(tempfile.mkdtemp(prefix="kafka-")) if data_dir is None else Path(data_dir).resolve()
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(self._properties())
        self._format(config, timeout)
        with self.log_path.open("ab") as log:
            offset = log.tell()
            self.process = subprocess.Popen(
                self._java("kafka.Kafka", str(config)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_ready(offset, timeout)
        except BaseException:  # also Ctrl-C / SIGTERM while starting: never leave the JVM behind
            self._own_dir = False  # but keep a temp dir: the error names its broker.log
            self.stop()
            raise

    def _wait_ready(self, offset: int, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        seen = b""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            while True:
                seen += log.read()
                alive = self.process.poll() is None
                if READY_LINE in seen and alive:
                    return
                tail = seen[-4000:].decode("utf-8", "replace")
                if not alive:
                    raise RuntimeError(
                        f"kafka exited with {self.process.returncode}; {self.log_path}:\n{tail}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kafka not ready within {timeout}s; {self.log_path}:\n{tail}")
                time.sleep(0.1)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM (Kafka flushes and closes its logs), SIGKILL after ``grace`` s; drop our temp dir."""
        _maven_jars().stop_process(self.process, grace)
        if self._own_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._own_dir = False


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="resolve the broker's jars from Maven Central")
    run = sub.add_parser("run", help="run a broker in the foreground until SIGINT/SIGTERM")
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--controller-port", type=int, default=None, help="default: port + 1")
    run.add_argument("--data-dir", type=Path, default=REPO / "var" / "kafka" / "data")
    args = parser.parse_args()
    if args.command == "fetch":
        print(f"kafka jars in {ensure_jars()}")
        return 0

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)  # unwinds through start()/wait() into the finally below

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    broker = KafkaBroker()
    try:
        broker.start(
            port=args.port, controller_port=args.controller_port or args.port + 1, data_dir=args.data_dir
        )
        print(f"kafka ready on {broker.bootstrap_servers}", flush=True)
        assert broker.process is not None
        code = broker.process.wait()
        print(f"kafka exited with {code}; see {broker.log_path}", file=sys.stderr)
        return code or 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut stop() short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        broker.stop()


if __name__ == "__main__":
    sys.exit(main())
