"""A real single-node SLURM cluster on loopback for tests (see shared/SLURM-LOCAL.md in the project docs).

Installs Debian's slurmctld, slurmd and munge when missing (root only), writes /etc/slurm/slurm.conf with
state, spool, log and pid files in a temporary directory, starts munged (if not running), slurmctld and
slurmd, and stops exactly the daemons it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
PARTITION = "xaugtest"


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be installed or started here (not root, no package manager)."""


def _run(*cmd: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


def ensure_installed() -> None:
    if all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue")):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SlurmUnavailable("SLURM is not installed and apt-get as root is not available")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "slurmctld", "slurmd", "slurm-client", "munge"],
        check=True,
        env=env,
        capture_output=True,
        timeout=900,
    )


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return max(1000, int(int(line.split()[1]) / 1024 * 0.6))
    return 4000


class LocalSlurm:
    """Context manager: a running one-node cluster with partition ``PARTITION``."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.host = socket.gethostname().split(".")[0]
        self.started: list[Path] = []  # pid files of the daemons this object started
        self._conf_backup: str | None = None

    def __enter__(self) -> LocalSlurm:
        ensure_installed()
        for sub in ("state", "spool", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._start_munge()
        self._write_conf()
        try:
            self._start("slurmctld", self.dir / "slurmctld.pid")
            self._start("slurmd", self.dir / "slurmd.pid")
            self._wait_idle()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start_munge(self) -> None:
        if shutil.which("munge") and _run("munge", "-n", check=False).returncode == 0:
            return  # a working munged is already there (not ours: leave it running)
        if not MUNGE_KEY.exists():
            MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
            MUNGE_KEY.write_bytes(os.urandom(1024))
            shutil.chown(MUNGE_KEY, "munge", "munge")
            MUNGE_KEY.chmod(0o400)
        for folder in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
            Path(folder).mkdir(parents=True, exist_ok=True)
        self._start("munged", self.dir / "munged.pid", "--force", f"--pid-file={self.dir / 'munged.pid'}")

    def _write_conf(self) -> None:
        d = self.dir
        text = f"""# Written by tests/slurm_cluster.py for a loopback test cluster.
ClusterName=xaugtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={os.cpu_count() or 2} RealMemory={_memory_mb()} State=UNKNOWN
PartitionName={PARTITION} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        if CONF.exists():
            self._conf_backup = CONF.read_text()
        CONF.parent.mkdir(parents=True, exist_ok=True)
        CONF.write_text(text)

    def _start(self, daemon: str, pid_file: Path, *args: str) -> None:
        _run(daemon, *args)
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text().strip():
                self.started.append(pid_file)
                return
            time.sleep(0.1)
        raise SlurmUnavailable(f"{daemon} did not start; see {self.dir / 'log'}")

    def _wait_idle(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = _run("sinfo", "-h", "-o", "%T", check=False).stdout.strip()
            if state.startswith("idle"):
                return
            time.sleep(1)
        raise SlurmUnavailable(f"node never became idle (sinfo: {state!r}); see {self.dir / 'log'}")

    def __exit__(self, *exc: object) -> None:
        for pid_file in reversed(self.started):
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.started.clear()
        if self._conf_backup is not None:
            CONF.write_text(self._conf_backup)
        elif CONF.exists():
            CONF.unlink()
