"""deploy/systemd and deploy/kubernetes, checked as shipped (issue 10, item 4). With no
cluster and no systemd as PID 1 here, the files are validated statically: graft's own parser
reads the command lines in them, probes ask for the --health-path graft answers on the port
it listens on, and every grace period covers the drain it must wait for. The systemd unit's
command line is also run for real behind systemd-socket-activate (LISTEN_FDS), reloaded
with ExecReload's signal and stopped with KillSignal.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEPLOY = REPO / "deploy"
sys.path.insert(0, str(REPO / "tests" / "server"))
sys.path.insert(0, str(REPO / "tests" / "native"))

from graft.main import parse_args  # noqa: E402
from test_workers import children_of, wait_for, wait_gone  # noqa: E402

SUPERVISOR_MARGIN = 5.0  # graft/supervisor.py _stop_timeout: workers get SIGKILL after grace + 5 s


def passed_through() -> list[str]:
    """systemd-socket-activate options passing on what the sanitizer runs preload and set
    (scripts/sanitize-pytest.sh): it gives the child no other environment."""
    names = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS")
    return [arg for name in names if name in os.environ for arg in ("-E", name)]


def graft_options(argv: list[str]) -> dict:
    """graft's parsed options for a command line (the environment left out)."""
    return parse_args(argv, environ={})


# -- systemd ------------------------------------------------------------------------------------
def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values]}} (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            current = sections.setdefault(m.group(1), {})
            continue
        assert current is not None and "=" in line, f"{path.name}: not a unit line: {raw!r}"
        key, _, value = line.partition("=")
        assert re.fullmatch(r"[A-Za-z]+", key.strip()), raw
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|min)?", value)
    assert m, value
    return float(m.group(1)) * (60 if m.group(2) == "min" else 1)


SERVICE = unit(DEPLOY / "systemd" / "graft.service")
SOCKET = unit(DEPLOY / "systemd" / "graft.socket")


def exec_start() -> list[str]:
    (line,) = SERVICE["Service"]["ExecStart"]
    return shlex.split(line)


def test_systemd_service_runs_graft_with_options_graft_accepts():
    argv = exec_start()
    assert Path(argv[0]).name == "graft"
    opts = graft_options(argv[1:])
    assert opts["workers"] >= 2  # a reload needs the supervisor
    assert opts["health_path"] == "/healthz"
    # The socket comes from systemd: nothing here may bind another one.
    assert not {"--host", "--port", "--uds", "--fd"} & set(argv), argv
    assert opts["forwarded_allow_ips"] == "*"  # a Unix socket's peers (the socket's mode limits them)


def test_systemd_reload_stop_and_socket_match_graft():
    service, sock = SERVICE["Service"], SOCKET["Socket"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["KillMode"] == ["mixed"]  # SIGTERM to the supervisor, which drains its workers
    grace = graft_options(exec_start()[1:])["timeout_graceful_shutdown"]
    assert grace is not None
    # systemd must not SIGKILL before graft's own deadline (grace, then its SIGKILL 5 s later).
    assert seconds(service["TimeoutStopSec"][0]) > grace + SUPERVISOR_MARGIN
    assert service["Type"] == ["simple"]  # graft's pid is the one systemd names in LISTEN_PID
    assert "graft.socket" in SERVICE["Unit"]["Requires"][0].split()
    assert "graft.socket" in SERVICE["Unit"]["After"][0].split()
    (listen,) = sock["ListenStream"]
    assert listen.startswith("/run/graft/") and listen.endswith(".sock")
    assert int(sock["Backlog"][0]) >= 128
    assert SOCKET["Install"]["WantedBy"] == ["sockets.target"]


def test_systemd_command_line_serves_an_activated_socket_reloads_and_stops(tmp_path):
    """The ExecStart options, with tests/deploy/deploy_app.py for the app, behind
    systemd-socket-activate (which binds the socket and execs graft with LISTEN_FDS=1 and
    LISTEN_PID = graft's pid, as systemd does): ExecReload's SIGHUP reloads the workers,
    KillSignal stops graft with exit status 0 within TimeoutStopSec."""
    from test_nginx import request, unix

    path = str(Path(tempfile.mkdtemp(prefix="graft-sd-")) / "graft.sock")
    argv = exec_start()
    options = argv[2:]  # after the binary and the app
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFT_")}
    env["PYTHONPATH"] = str(REPO)
    log = tmp_path / "graft.log"
    with open(log, "wb") as out:
        # It gives the child only the environment it is told to: PYTHONPATH makes it this
        # checkout's graft.
        proc = subprocess.Popen(["systemd-socket-activate", "-l", path, "-E", f"PYTHONPATH={REPO}",
                                 *passed_through(),
                                 sys.executable, "-m", "graft",
                                 "deploy_app:app", "--app-dir", str(HERE), *options],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        def answered() -> bool:
            try:
                return request(unix(path), "/healthz")[1] == {"raw": "ok\n"}
            except OSError:
                assert proc.poll() is None, log.read_text()
                return False

        assert wait_for(answered, 30), log.read_text()
        assert "from systemd" in log.read_text()  # the passed socket, not one graft bound
        workers = len(children_of(proc.pid))
        assert workers == graft_options(argv[1:])["workers"], log.read_text()
        old = children_of(proc.pid)
        os.kill(proc.pid, signal.SIGHUP)  # ExecReload
        assert wait_for(lambda: "Reload complete" in log.read_text(), 30), log.read_text()
        assert not wait_gone(old, 30), log.read_text()
        assert request(unix(path))[0] == 200
        os.kill(proc.pid, getattr(signal, SERVICE["Service"]["KillSignal"][0]))
        assert proc.wait(seconds(SERVICE["Service"]["TimeoutStopSec"][0])) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        shutil.rmtree(Path(path).parent, ignore_errors=True)


# -- Kubernetes ---------------------------------------------------------------------------------
def manifests() -> dict[str, dict]:
    docs = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert doc["kind"] not in docs, doc["kind"]
                docs[doc["kind"]] = doc
    return docs


K8S = manifests()


def container() -> dict:
    (c,) = K8S["Deployment"]["spec"]["template"]["spec"]["containers"]
    return c


def container_options() -> dict:
    c = container()
    assert c["command"] == ["graft"]
    return graft_options(c["args"])


def resolve_port(port, c: dict) -> int:
    if isinstance(port, int):
        return port
    (match,) = [p["containerPort"] for p in c["ports"] if p.get("name") == port]
    return match


def test_kubernetes_has_deployment_service_configmap():
    assert set(K8S) == {"Deployment", "Service", "ConfigMap"}
    assert K8S["Deployment"]["apiVersion"] == "apps/v1"
    assert K8S["Service"]["apiVersion"] == K8S["ConfigMap"]["apiVersion"] == "v1"


def test_probes_ask_graft_health_path_on_its_port():
    c, opts = container(), container_options()
    assert opts["health_path"]
    assert opts["host"] == "0.0.0.0"  # reachable from the kubelet and the Service
    for probe in ("readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == opts["health_path"], probe
        assert resolve_port(get["port"], c) == opts["port"], probe


def test_grace_period_covers_prestop_and_the_drain():
    spec, c, opts = K8S["Deployment"]["spec"]["template"]["spec"], container(), container_options()
    command = c["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    assert pre_stop >= 3  # long enough for the endpoints to update before SIGTERM
    grace = opts["timeout_graceful_shutdown"]
    assert grace is not None
    assert spec["terminationGracePeriodSeconds"] >= pre_stop + grace + SUPERVISOR_MARGIN
    # A draining pod answers 503 on the health path: liveness must not restart it meanwhile.
    live = c["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] > spec["terminationGracePeriodSeconds"]
    assert K8S["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_worker_rss_ceiling_is_below_the_memory_limit():
    c, opts = container(), container_options()
    limit = c["resources"]["limits"]["memory"]
    m = re.fullmatch(r"(\d+)(Mi|Gi)", limit)
    assert m, limit
    mib = int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)
    assert opts["limit_worker_rss"] and opts["limit_worker_rss"] * opts["workers"] < mib


def test_service_and_configmap_match_the_deployment():
    dep, svc, cm = K8S["Deployment"], K8S["Service"], K8S["ConfigMap"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    c = container()
    (port,) = svc["spec"]["ports"]
    assert resolve_port(port["targetPort"], c) == container_options()["port"]
    (ref,) = c["envFrom"]
    assert ref["configMapRef"]["name"] == cm["metadata"]["name"]
    # Every variable set is one graft reads, and parses.
    env = cm["data"]
    assert set(env) <= {"FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY"}
    from graft.config import Config

    config = Config("m:app", forwarded_allow_ips=env["FORWARDED_ALLOW_IPS"], workers=int(env["WEB_CONCURRENCY"]))
    assert config.forwarded_allow_ips and config.workers >= 1

