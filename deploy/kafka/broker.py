"""A real Apache Kafka 4 broker (KRaft, one node) on loopback, from Maven Central, no Docker.

Stdlib only, so the run command and the tests can use it before anything else is installed.
    python deploy/kafka/broker.py fetch                      # resolve the jars (cached)
    python deploy/kafka/broker.py run --port 9092 --data-dir var/kafka/data
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_JARS = REPO / "var" / "kafka" / "jars"
READY_LINE = "Kafka Server started"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_jars(jar_dir: Path = DEFAULT_JARS) -> Path:
    """Resolve the broker and its runtime dependencies from Maven Central into ``jar_dir``."""
    if any(jar_dir.glob("kafka_2.13-*.jar")):
        return jar_dir
    for tool in ("mvn", "java"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed: the Kafka broker needs a JDK 17+ and Maven")
    jar_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(HERE / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={jar_dir}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not any(jar_dir.glob("kafka_2.13-*.jar")):
        raise RuntimeError(f"could not fetch the Kafka jars with Maven:\n{result.stdout}\n{result.stderr}")
    return jar_dir


class KafkaBroker:
    """One combined broker and controller, its data in ``data_dir``, its log in broker.log."""

    def __init__(self, jar_dir: Path = DEFAULT_JARS) -> None:
        self.jar_dir = jar_dir
        self.port = 0
        self.controller_port = 0
        self.data_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _properties(self) -> str:
        assert self.data_dir is not None
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
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
            "log.cleaner.dedupe.buffer.size": "2097152",
        }
        return "".join(f"{k}={v}\n" for k, v in settings.items())

    def _java(self, *args: str) -> list[str]:
        return [
            "java",
            "-Xms128m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
            "-cp",
            f"{self.jar_dir}/*",
            *args,
        ]

    def start(
        self,
        port: int | None = None,
        controller_port: int | None = None,
        data_dir: Path | None = None,
        timeout: float = 90,
    ) -> None:
        ensure_jars(self.jar_dir)
        self.port = port or _free_port()
        self.controller_port = controller_port or _free_port()
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="kafka-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(self._properties())
        if not (self.data_dir / "logs" / "meta.properties").exists():
            cluster_id = (
                subprocess.run(
                    self._java("kafka.tools.StorageTool", "random-uuid"),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            formatted = subprocess.run(
                self._java(
                    "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), "--standalone"
                ),
                capture_output=True,
                text=True,
            )
            if formatted.returncode != 0:
                raise RuntimeError(f"kafka storage format failed:\n{formatted.stdout}\n{formatted.stderr}")
        log_path = self.data_dir / "broker.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._java("kafka.Kafka", str(config)), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log_path.read_bytes()[offset:].decode("utf-8", "replace")
            if READY_LINE in text:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"kafka exited ({self.process.returncode}):\n{text[-4000:]}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"kafka did not start within {timeout}s:\n{log_path.read_text()[-4000:]}")

    def stop(self, grace: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="resolve the broker's jars from Maven Central")
    run = sub.add_parser("run", help="run a broker in the foreground until interrupted")
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--controller-port", type=int, default=None)
    run.add_argument("--data-dir", type=Path, default=REPO / "var" / "kafka" / "data")
    args = parser.parse_args()
    if args.command == "fetch":
        print(f"kafka jars in {ensure_jars()}")
        return
    broker = KafkaBroker()
    broker.start(
        port=args.port, controller_port=args.controller_port or args.port + 1, data_dir=args.data_dir
    )
    print(f"kafka ready on {broker.bootstrap_servers}", flush=True)

    def stop(_signum: int, _frame: object) -> None:
        broker.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while broker.process is not None and broker.process.poll() is None:
        time.sleep(1)
    sys.exit(broker.process.returncode if broker.process else 1)


if __name__ == "__main__":
    os.environ.setdefault("KAFKA_HEAP_OPTS", "-Xmx512m")
    main()
