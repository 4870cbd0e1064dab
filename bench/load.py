"""The load generator: WeChat's side of the callback, many followers at once, against a loopback server.

Run it as its own process (that is how bench/run.py uses it, so its CPU is not the server's)::

    .venv/bin/python -m bench.load --url http://127.0.0.1:8000 --scenario message --duration 10 --json

or call :func:`run_load` in-process (the smoke test does). Each client thread owns one HTTP/1.1 connection
(a minimal socket client; keep-alive where the server offers it, a new connection where it closes, as
gunicorn's sync workers do) and plays one follower after another. A *scenario* says what one follower sends: a
script of texts, each sent only after the previous one was answered. ``message`` is a one-text script
(throughput in messages/s); ``conversation`` is a whole exchange per follower (conversations/s, and the
latency of every message in it). Add a scenario with :func:`register_scenario`.

Every request is signed and encrypted (safe mode) with the same code the tests and simulator use
(bot/wechat_sim.py), from a distinct openid and with a unique MsgId. A request counts as an error when it
fails, is not HTTP 200, or its reply does not decrypt to a text addressed to the sender. Replies are
checked after the timed window, so the check's CPU does not compete with the server during it.
Runs are bounded: by ``duration`` seconds, ``max_messages`` or both (at most ten minutes).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.config import DEV_AES_KEY, DEV_APPID, DEV_WECHAT_TOKEN
from bot.wechat_sim import WeChatSide

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DURATION = 600.0
DEFAULT_MESSAGE_TEXT = "你好"
DEFAULT_CONVERSATION = ("投诉", "1", "洛阳某某机械厂", "王工", "13800138000")
REQUEST_TIMEOUT = 30.0


# -- scenarios -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """What one follower sends, in order, each text waiting for the previous reply.

    ``unit`` names what throughput is counted in: ``message`` (one-text scripts) or ``conversation``.
    Subclass and override :meth:`script_for` for scripts that vary per follower.
    """

    name: str
    script: tuple[str, ...]
    unit: str = "conversation"

    def script_for(self, follower: int) -> Sequence[str]:
        return self.script


ScenarioFactory = Callable[[Sequence[str] | None], Scenario]
SCENARIOS: dict[str, ScenarioFactory] = {}


def register_scenario(name: str, factory: ScenarioFactory) -> None:
    """Make ``name`` available to run_load, ``--scenario`` and bench/run.py ``--scenarios``."""
    SCENARIOS[name] = factory


def _message(script: Sequence[str] | None) -> Scenario:
    return Scenario("message", tuple(script or ())[:1] or (DEFAULT_MESSAGE_TEXT,), unit="message")


def _conversation(script: Sequence[str] | None) -> Scenario:
    return Scenario("conversation", tuple(script or DEFAULT_CONVERSATION), unit="conversation")


register_scenario("message", _message)
register_scenario("conversation", _conversation)


def get_scenario(name: str, script: Sequence[str] | None = None) -> Scenario:
    try:
        return SCENARIOS[name](script)
    except KeyError:
        raise ValueError(f"unknown scenario {name!r} (known: {', '.join(sorted(SCENARIOS))})") from None


def script_from_env() -> list[str] | None:
    """``BENCH_CONVERSATION`` overrides the conversation script: a JSON list, or texts separated by ``|``."""
    raw = os.environ.get("BENCH_CONVERSATION", "").strip()
    if not raw:
        return None
    if raw.startswith("["):
        return [str(t) for t in json.loads(raw)]
    return [t for t in raw.split("|") if t]


# -- the report ------------------------------------------------------------------------------------

@dataclass
class Report:
    scenario: str
    unit: str
    concurrency: int
    elapsed_s: float
    messages: int  # replies received (any status), i.e. requests completed in the window
    ok_messages: int
    conversations: int  # followers whose whole script was answered correctly
    errors: int
    error_kinds: dict[str, int]
    msgs_per_s: float
    convs_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    load_cpu_s: float  # the load process's own CPU time in the window
    server_cpu_s: float  # the watched server's CPU time in the window (0.0 when not watched)
    machine_cpu_s: float  # the whole machine's busy CPU time in the window (every process, all cores)
    db_cpu_s: float  # processes named ``watch_name`` (a local database server) in the window
    warmup_messages: int = 0
    warmup_errors: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), -(-len(sorted_values) * pct // 100)))
    return sorted_values[int(rank) - 1]


# -- the engine ------------------------------------------------------------------------------------

@dataclass
class _Sample:
    conv: int
    openid: str
    latency: float
    status: int  # 0 when the request itself failed
    body: bytes  # the reply
    failure: str = ""  # why the request failed (status 0)


class _Ids:
    """Distinct openids and MsgIds across threads and across runs (MsgId is the dedupe key)."""

    def __init__(self) -> None:
        self._prefix = "obench" + secrets.token_hex(4)
        self._followers = itertools.count()
        # Microseconds since the epoch × 100: a later process starts far above anything an earlier one used.
        self._msg_ids = itertools.count(time.time_ns() // 1_000 * 100)
        self._lock = threading.Lock()

    def follower(self) -> tuple[int, str]:
        with self._lock:
            n = next(self._followers)
        return n, f"{self._prefix}{n:09d}"

    def msg_id(self) -> int:
        with self._lock:
            return next(self._msg_ids)


def _processes_cpu(match: Callable[[int, int, bytes], bool]) -> float:
    """CPU seconds (user + system) used so far by the processes ``match(pid, ppid, comm)`` picks
    (Linux /proc; 0.0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue  # the process went away
        comm = raw[raw.find(b"(") + 1:raw.rfind(b")")]
        fields = raw.rsplit(b")", 1)[1].split()
        # after "pid (comm)": state ppid ... utime is field 14 of stat, stime 15 (1-based, comm included)
        if match(int(entry), int(fields[1]), comm):
            total += int(fields[11]) + int(fields[12])
    return total / tick


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its children (gunicorn's master and its workers)."""
    return _processes_cpu(lambda p, ppid, _comm: pid in (p, ppid))


def named_processes_cpu(name: str) -> float:
    """CPU seconds used so far by every process whose name starts with ``name`` (e.g. a local PostgreSQL)."""
    prefix = name.encode()
    return _processes_cpu(lambda _p, _ppid, comm: comm.startswith(prefix))


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (all cores; Linux /proc/stat; 0.0 elsewhere)."""
    try:
        with open("/proc/stat", "rb") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal (guest is inside user)
    return busy / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


def _check_url(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise ValueError(f"the load generator only talks plain HTTP to loopback, not {url!r}")
    return parts.hostname, parts.port or 80, (parts.path.rstrip("/") or "") + "/wechat"


class _Connection:
    """A minimal HTTP/1.1 client on one socket: keep-alive when the server allows it, reconnect when not.

    Leaner than http.client (one send per request, no header objects), so the load process spends as
    little of the machine's CPU as possible; it understands exactly what a WSGI server sends back here.
    """

    def __init__(self, address: tuple[Any, ...], family: int, host_header: str) -> None:
        self.address = address
        self.family = family
        self.host_header = host_header
        self.sock: socket.socket | None = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def post(self, target: str, body: bytes) -> tuple[int, bytes]:
        head = (f"POST {target} HTTP/1.1\r\nHost: {self.host_header}\r\n"
                f"Content-Type: text/xml; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n")
        request = head.encode("ascii") + body
        reused = self.sock is not None
        try:
            return self._exchange(request)
        except (ConnectionResetError, BrokenPipeError, _ClosedEarly):
            self.close()
            if not reused:
                raise
        return self._exchange(request)  # a kept-alive connection the server had already closed: once more

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
            sock.settimeout(REQUEST_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise
            self.sock = sock
        sock = self.sock
        sock.sendall(request)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise _ClosedEarly("connection closed before the response") if not buf else \
                    http.client.IncompleteRead(buf)
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status_text = lines[0].split(" ", 2)[:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise http.client.HTTPException("chunked responses are not supported by the bench client")
        closing = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        length = headers.get("content-length")
        if length is not None:
            want = int(length)
            while len(rest) < want:
                chunk = sock.recv(max(65536, want - len(rest)))
                if not chunk:
                    raise http.client.IncompleteRead(rest, want - len(rest))
                rest += chunk
            body = rest[:want]
        else:  # no length: the body runs to the end of the connection
            closing = True
            while chunk := sock.recv(65536):
                rest += chunk
            body = rest
        if closing:
            self.close()
        return int(status_text), body


class _ClosedEarly(ConnectionError):
    """The server closed the connection before answering (a stale keep-alive connection)."""


def _client(
    url: tuple[str, int, str], side: WeChatSide, ids: _Ids, scenario: Scenario,
    start: threading.Barrier, deadline: list[float], budget: list[int], budget_lock: threading.Lock,
    out: list[_Sample],
) -> None:
    host, port, path = url
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    conn = _Connection(address, family, f"{host}:{port}")
    start.wait()
    try:
        while time.perf_counter() < deadline[0]:
            conv, openid = ids.follower()
            script = scenario.script_for(conv)
            with budget_lock:
                if budget[0] < len(script):
                    return
                budget[0] -= len(script)
            for text in script:
                signed = side.sign(side.text(openid, text, msg_id=ids.msg_id()))
                target = f"{path}?{urlencode(signed.params)}"
                began = time.perf_counter()
                try:
                    status, body = conn.post(target, signed.body)
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    out.append(_Sample(conv, openid, time.perf_counter() - began, 0, b"", type(exc).__name__))
                    conn.close()
                    break  # this follower's conversation is over
                out.append(_Sample(conv, openid, time.perf_counter() - began, status, body))
                if status != 200:
                    break
    finally:
        conn.close()


def _drive(url: str, scenario: Scenario, concurrency: int, duration: float | None, max_messages: int | None,
           side: WeChatSide, ids: _Ids, watch_pid: int | None = None, watch_name: str | None = None,
           ) -> tuple[list[_Sample], float, dict[str, float]]:
    target = _check_url(url)
    if not duration and not max_messages:
        raise ValueError("bound the run: give duration and/or max_messages")
    duration = min(duration or MAX_DURATION, MAX_DURATION)
    out: list[_Sample] = []  # list.append is atomic under the GIL
    start = threading.Barrier(concurrency + 1)
    deadline = [float("inf")]
    budget = [max_messages if max_messages else sys.maxsize]
    budget_lock = threading.Lock()
    threads = [
        threading.Thread(target=_client, daemon=True, name=f"bench-client-{i}",
                         args=(target, side, ids, scenario, start, deadline, budget, budget_lock, out))
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    server0 = process_tree_cpu(watch_pid) if watch_pid else 0.0
    named0 = named_processes_cpu(watch_name) if watch_name else 0.0
    machine0 = machine_cpu()
    cpu0 = time.process_time()
    began = time.perf_counter()
    deadline[0] = began + duration
    start.wait()
    for t in threads:
        t.join(timeout=duration + REQUEST_TIMEOUT * len(scenario.script) + 5)
    elapsed = time.perf_counter() - began
    cpu = {"load": time.process_time() - cpu0, "machine": machine_cpu() - machine0,
           "server": process_tree_cpu(watch_pid) - server0 if watch_pid else 0.0,
           "named": named_processes_cpu(watch_name) - named0 if watch_name else 0.0}
    return list(out), elapsed, cpu


def _verify(side: WeChatSide, samples: Sequence[_Sample]) -> Counter[str]:
    """Classify each sample; returns the error kinds (an empty Counter when all is well)."""
    kinds: Counter[str] = Counter()
    for s in samples:
        kind = _error_kind(side, s)
        if kind:
            kinds[kind] += 1
            s.status = -1 if s.status == 200 else s.status
    return kinds


def _error_kind(side: WeChatSide, s: _Sample) -> str | None:
    if s.status == 0:
        return f"request failed ({s.failure})"
    if s.status != 200:
        return f"HTTP {s.status}"
    try:
        reply = side.open_reply(s.body)
    except Exception:  # any failure to read the reply is what we are counting
        return "undecryptable reply"
    if not reply:
        return "no reply (success)"
    if reply.get("ToUserName") != s.openid or reply.get("MsgType") != "text":
        return "reply not a text to the sender"
    return None


def run_load(
    url: str,
    scenario: str | Scenario = "message",
    *,
    concurrency: int = 8,
    duration: float | None = 10.0,
    max_messages: int | None = None,
    warmup: float = 0.0,
    script: Sequence[str] | None = None,
    side: WeChatSide | None = None,
    watch_pid: int | None = None,
    watch_name: str | None = None,
) -> Report:
    """Drive ``url`` (a loopback base URL; requests go to ``/wechat``) and report what happened.

    ``watch_pid``: a server process (gunicorn's master) whose CPU time, with its children's, is measured
    over the timed window and reported as ``server_cpu_s``; ``watch_name``: processes by name (a local
    database server, ``postgres``), reported as ``db_cpu_s``.
    """
    scen = scenario if isinstance(scenario, Scenario) else get_scenario(scenario, script)
    side = side or WeChatSide(DEV_WECHAT_TOKEN, DEV_AES_KEY, DEV_APPID)
    ids = _Ids()
    notes: list[str] = []
    warm: list[_Sample] = []
    if warmup > 0:
        warm, _, _ = _drive(url, scen, concurrency, warmup, None, side, ids)
    samples, elapsed, cpu = _drive(url, scen, concurrency, duration, max_messages, side, ids, watch_pid, watch_name)
    warm_kinds = _verify(side, warm)
    kinds = _verify(side, samples)
    if warm_kinds:
        notes.append("warm-up errors: " + ", ".join(f"{k} ×{n}" for k, n in warm_kinds.items()))
    ok = sorted(s.latency for s in samples if s.status == 200)
    failed_convs = {s.conv for s in samples if s.status != 200}
    by_conv = Counter(s.conv for s in samples if s.status == 200)
    complete = sum(1 for conv, n in by_conv.items()
                   if conv not in failed_convs and n == len(scen.script_for(conv)))
    return Report(
        scenario=scen.name,
        unit=scen.unit,
        concurrency=concurrency,
        elapsed_s=round(elapsed, 3),
        messages=len(samples),
        ok_messages=len(ok),
        conversations=complete,
        errors=sum(kinds.values()),
        error_kinds=dict(kinds),
        msgs_per_s=round(len(ok) / elapsed, 1) if elapsed else 0.0,
        convs_per_s=round(complete / elapsed, 2) if elapsed else 0.0,
        p50_ms=round(percentile(ok, 50) * 1000, 2),
        p90_ms=round(percentile(ok, 90) * 1000, 2),
        p99_ms=round(percentile(ok, 99) * 1000, 2),
        max_ms=round(ok[-1] * 1000, 2) if ok else 0.0,
        load_cpu_s=round(cpu["load"], 3),
        server_cpu_s=round(cpu["server"], 3),
        machine_cpu_s=round(cpu["machine"], 3),
        db_cpu_s=round(cpu["named"], 3),
        warmup_messages=len(warm),
        warmup_errors=sum(warm_kinds.values()),
        notes=notes,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server's base URL, loopback only")
    parser.add_argument("--scenario", default="message", choices=sorted(SCENARIOS))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (0: bounded by --messages only)")
    parser.add_argument("--messages", type=int, default=0, help="stop after this many messages (0: no limit)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first")
    parser.add_argument("--script", default=None,
                        help="the texts one follower sends, as a JSON list (default: BENCH_CONVERSATION or built-in)")
    parser.add_argument("--watch-pid", type=int, default=None, help="report this process tree's CPU time")
    parser.add_argument("--watch-name", default=None, help="report the CPU time of processes with this name")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = parser.parse_args(argv)
    script = json.loads(args.script) if args.script else (
        script_from_env() if args.scenario == "conversation" else None)
    report = run_load(args.url, args.scenario, concurrency=args.concurrency, duration=args.duration or None,
                      max_messages=args.messages or None, warmup=args.warmup, script=script,
                      watch_pid=args.watch_pid, watch_name=args.watch_name)
    if args.json:
        print(report.to_json())
    else:
        for key, value in asdict(report).items():
            print(f"{key:>16}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
