"""`make bench-load`: simulated patients load the real bot, then the stock `rasa init` assistant.

N patients (``--patients``, default 20) each play whole conversations over the REST channel, one
after another, with a random think time (0.2–0.5 s) before every message, for a fixed time
(``--duration``, default 45 s). Ours runs first: Rasa and the action server on free ports with the
model ``make`` trains (``CLINIC_MODEL``), ``CLINIC_TODAY=2026-06-15`` and a throwaway SQLite
database; the patients are the personas of ``bench/dialogue/tuning.yml`` that reach an
explanation and a booking decision (no red flag; they book or decline), played by
``bench.dialogue.play``. Then the same load goes to the stock assistant that ``rasa init`` makes
(trained once with the same Rasa and cached under ``bench/.cache/``), on an SQLite tracker store
too, with its own small greet / mood conversations.

It prints, and writes to ``bench/reports/load.md``: turns/s, p50/p95/p99 latency, errors and the
resident memory (RSS) of every server process, for both, and the ratios (goals: throughput
ours/stock ≥ 0.8, p95 ours/stock ≤ 1.3, no errors). It is a benchmark: it exits 0 whatever the
figures (non-zero only when it cannot run). ``--profile DIR`` also records our two servers with
py-spy during the load and prints their top frames (the figures of such a run are slowed by the
sampling; do not compare them).

    CLINIC_MODEL=models/clinic-….tar.gz .venv/bin/python bench/load.py --patients 20 --duration 45
    .venv/bin/python bench/load.py --only ours --profile /tmp/profile
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import yaml  # noqa: E402

from bench.dialogue import TODAY, Persona, find_model, load_personas, play  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
REPORT = ROOT / "bench" / "reports" / "load.md"
BIN = Path(sys.executable).parent
GOAL_THROUGHPUT = 0.8
GOAL_P95 = 1.3
REQUEST_TIMEOUT = 60.0

#: The stock assistant's conversations (rasa init's intents: greet, mood_great, mood_unhappy,
#: affirm, deny, goodbye, bot_challenge), each along one of its stories or rules.
STOCK_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("hello", "I am feeling great", "bye"),
    ("hi", "I am sad", "yes", "goodbye"),
    ("hey there", "my day was horrible", "no", "see you around"),
    ("good morning", "are you a bot?", "I am amazing", "have a nice day"),
    ("hi there", "very sad", "of course", "bye"),
    ("hey", "I don't feel very well", "not really", "good night"),
)


class _TimeUp(Exception):
    """The load's time is over; the conversation stops here (not an error)."""


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Recorder:
    """Every turn's latency and outcome, from all patients (thread-safe)."""

    started: float = 0.0
    deadline: float = 0.0
    latencies: list[float] = field(default_factory=list)
    completed_in_time: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    empty: int = 0
    conversations: Counter[str] = field(default_factory=Counter)
    #: Personas of our conversations that ended without an explanation and a booking decision.
    unfinished: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def turn(self, seconds: float, finished_at: float, error: str | None, empty: bool) -> None:
        with self.lock:
            if error:
                self.errors[error] += 1
                return
            self.latencies.append(seconds)
            if finished_at <= self.deadline:
                self.completed_in_time += 1
            if empty:
                self.empty += 1

    def conversation(self, outcome: str, persona: str | None = None) -> None:
        with self.lock:
            self.conversations[outcome] += 1
            if persona:
                self.unfinished[f"{persona} ({outcome})"] += 1


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        for child in text.split():
            found.append(int(child))
            found.extend(_children(int(child)))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB (0 once it is gone)."""
    total = 0
    for one in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (and its waited-for children) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # fields[11:15] are utime, stime, cutime, cstime (field 14 onwards of proc(5)), in clock ticks
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@dataclass
class MemorySampler:
    """Samples each server's RSS once a second while the load runs, and the CPU time it used."""

    pids: Mapping[str, int]
    samples: dict[str, list[float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    cpu: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.samples = {name: [rss_mb(pid)] for name, pid in self.pids.items()}
        self.cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.cpu["client"] = time.process_time()

        def run() -> None:
            while not self._stop.wait(1.0):
                for name, pid in self.pids.items():
                    self.samples[name].append(rss_mb(pid))

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        if self._thread:
            self._thread.join()
        for name, pid in self.pids.items():
            self.samples[name].append(rss_mb(pid))
            self.cpu[name] = cpu_seconds(pid) - self.cpu[name]
        self.cpu["client"] = time.process_time() - self.cpu["client"]
        return {
            name: {"start": values[0], "peak": max(values), "end": values[-1]} for name, values in self.samples.items()
        }


# --------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Servers:
    """Server processes of one assistant; ``processes`` by name (rasa, actions)."""

    rasa_url: str
    processes: dict[str, subprocess.Popen[bytes]]
    logs: list[Path]

    def tail(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in self.logs
            if log.exists()
        )

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a server exited with {process.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _quiet_env(base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env.update(
        LOG_LEVEL="WARNING",
        LOG_LEVEL_LIBRARIES="ERROR",
        SQLALCHEMY_WARN_20="0",
        TF_CPP_MIN_LOG_LEVEL="3",
        RASA_TELEMETRY_ENABLED="false",
        PYTHONWARNINGS="ignore",
    )
    return env


def _launch(commands: Mapping[str, list[str]], cwd: Path, env: Mapping[str, str], work: Path, tag: str) -> Servers:
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs: list[Path] = []
    for name, command in commands.items():
        log = work / f"{tag}-{name}.log"
        logs.append(log)
        with log.open("wb") as out:
            processes[name] = subprocess.Popen(
                command, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
    rasa_port = commands["rasa"][commands["rasa"].index("--port") + 1]
    return Servers(f"http://127.0.0.1:{rasa_port}", processes, logs)


def start_ours(model: Path, work: Path) -> Servers:
    """Our Rasa and action server on free ports, a fresh SQLite file, CLINIC_TODAY fixed, quiet logs."""
    from bot.run import server_commands, server_environment
    from bot.settings import load_settings

    rasa_port, actions_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        CLINIC_TODAY=TODAY.isoformat(),
        DATABASE_URL=f"sqlite:///{work / 'clinic.sqlite3'}",
        RASA_PORT=str(rasa_port),
        ACTIONS_PORT=str(actions_port),
        PUBLIC_URL=f"http://127.0.0.1:{rasa_port}",
    )
    env = _quiet_env(server_environment(load_settings(env), env))
    commands = server_commands(load_settings(env), str(model))
    wanted = {name: [*commands[name], "--quiet"] for name in ("actions", "rasa")}
    servers = _launch(wanted, ROOT, env, work, "ours")
    try:
        _wait_for(f"http://127.0.0.1:{actions_port}/health", servers.processes["actions"], 120)
        _wait_for(f"{servers.rasa_url}/", servers.processes["rasa"], 300)
    except Exception as error:
        tail = servers.tail()
        servers.stop()
        raise SystemExit(f"Could not start our servers: {error}\n{tail}") from error
    return servers


def _scaffold_hash() -> str:
    """Rasa's version and its ``rasa init`` project files: the stock model is trained again when they change."""
    import rasa
    import rasa.cli.scaffold

    digest = hashlib.sha256(rasa.__version__.encode())
    scaffold = Path(rasa.cli.scaffold.scaffold_path())
    for path in sorted(p for p in scaffold.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(scaffold).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def stock_init_model(log: Callable[[str], None] = print) -> Path:
    """The ``rasa init`` assistant's model, trained once (``rasa init --no-prompt``) and cached."""
    name = f"stock-init-{_scaffold_hash()}.tar.gz"
    cached = CACHE / name
    if cached.exists():
        return cached
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-stock-init-") as tmp:
        project = Path(tmp) / "stock"
        project.mkdir()
        log(f"training the stock `rasa init` assistant (once per Rasa version; a few minutes) in {project}")
        command = [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)]
        with (Path(tmp) / "init.log").open("wb") as out:
            done = subprocess.run(
                command, cwd=tmp, env=_quiet_env(os.environ), stdout=out, stderr=subprocess.STDOUT, check=False
            )
        models = sorted((project / "models").glob("*.tar.gz"))
        if done.returncode != 0 or not models:
            tail = (Path(tmp) / "init.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"`rasa init --no-prompt` failed ({done.returncode}):\n{tail}")
        shutil.move(str(models[-1]), cached)
    for old in CACHE.glob("stock-init-*.tar.gz"):
        if old != cached:
            old.unlink()
    return cached


def start_stock(model: Path, work: Path) -> Servers:
    """The stock assistant's Rasa on a free port: Rasa's REST channel, Rasa's SQL tracker store on SQLite."""
    port = free_port()
    stock = work / "stock"
    stock.mkdir(exist_ok=True)
    (stock / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    (stock / "endpoints.yml").write_text(
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {stock / 'rasa.sqlite3'}\n", encoding="utf-8"
    )
    command = [
        str(BIN / "rasa"),
        "run",
        "--model",
        str(model),
        "--port",
        str(port),
        "--credentials",
        str(stock / "credentials.yml"),
        "--endpoints",
        str(stock / "endpoints.yml"),
        "--interface",
        "127.0.0.1",
        "--quiet",
    ]
    servers = _launch({"rasa": command}, stock, _quiet_env(os.environ), work, "stock")
    try:
        _wait_for(f"{servers.rasa_url}/", servers.processes["rasa"], 300)
    except Exception as error:
        tail = servers.tail()
        servers.stop()
        raise SystemExit(f"Could not start the stock assistant: {error}\n{tail}") from error
    return servers


# --------------------------------------------------------------------------------------------
# The load


def post(session: requests.Session, url: str, sender: str, text: str) -> list[dict[str, Any]]:
    response = session.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=REQUEST_TIMEOUT
    )
    response.raise_for_status()
    answer = response.json()
    if not isinstance(answer, list):
        raise ValueError("the answer is not a JSON list")
    return answer


@lru_cache(maxsize=1)
def _degraded_prefixes() -> tuple[str, ...]:
    """How our bot's answer begins when it could not reach its records (``utter_records_unavailable``)."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")) or {}
    variants = (domain.get("responses") or {}).get("utter_records_unavailable") or []
    return tuple(str(v.get("text", "")).split("{")[0].strip() for v in variants if v.get("text"))


def degraded(answer: list[dict[str, Any]]) -> str | None:
    """An answer that is a failure though the request succeeded: "I can't reach our records" (database trouble)."""
    prefixes = _degraded_prefixes()
    for message in answer:
        text = str(message.get("text") or "")
        if prefixes and text.startswith(prefixes):
            return "records unavailable"
    return None


def timed_sender(
    session: requests.Session, url: str, sender: str, recorder: Recorder, rng: random.Random, think: tuple[float, float]
) -> Callable[[str], list[dict[str, Any]]]:
    """A ``send(text)`` that thinks first, stops at the deadline and records each turn."""

    def send(text: str) -> list[dict[str, Any]]:
        time.sleep(rng.uniform(*think))
        if time.monotonic() >= recorder.deadline:
            raise _TimeUp()
        started = time.monotonic()
        try:
            answer = post(session, url, sender, text)
        except Exception as error:
            recorder.turn(time.monotonic() - started, time.monotonic(), type(error).__name__, False)
            raise
        finished = time.monotonic()
        recorder.turn(finished - started, finished, degraded(answer), not answer)
        return answer

    return send


def our_outcome(persona: Persona, transcript: Any) -> str:
    """How one of our conversations ended: explained and decided, explained only, cut by time, error."""
    if transcript.error:
        return "cut at the end of the load" if "_TimeUp" in transcript.error else "error"
    assessed = bool(transcript.payloads("assessment"))
    booked = bool(transcript.payloads("appointment_requested"))
    declined = persona.consult == "decline" and transcript.stopped == "end of flow"
    if assessed and (booked or declined):
        return "explanation and booking decision"
    return "explanation, no decision" if assessed else "no explanation"


def load_personas_for_load() -> list[Persona]:
    """Candidates: tuning personas with no red flag that book or decline (checked by ``playable_personas``)."""
    return [p for p in load_personas("tuning") if not p.red_flags and p.consult in ("book", "decline")]


def run_load(
    url: str,
    patients: int,
    duration: float,
    think: tuple[float, float],
    conversation: Callable[[Callable[[str], list[dict[str, Any]]], int], tuple[str, str | None]],
    seed: int,
) -> Recorder:
    """``patients`` threads play conversations back to back for ``duration`` seconds."""
    recorder = Recorder()

    def patient(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        with requests.Session() as session:
            played = 0
            while time.monotonic() < recorder.deadline:
                sender = f"load-{number}-{played}-{uuid.uuid4().hex[:8]}"
                outcome, persona = conversation(
                    timed_sender(session, url, sender, recorder, rng, think), number * 5 + played
                )
                recorder.conversation(outcome, persona)
                played += 1

    recorder.started = time.monotonic()
    recorder.deadline = recorder.started + duration
    threads = [threading.Thread(target=patient, args=(i,), daemon=True) for i in range(patients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + REQUEST_TIMEOUT + 30)
    return recorder


def ours_conversation(personas: Sequence[Persona]) -> Callable[[Callable[..., Any], int], tuple[str, str | None]]:
    """Conversation ``index`` (patient × 5 + its count) plays one persona, walking the list."""
    order: list[Persona] = list(personas)

    def one(send: Callable[[str], list[dict[str, Any]]], index: int) -> tuple[str, str | None]:
        persona = order[index % len(order)]
        outcome = our_outcome(persona, play(persona, send))
        unfinished = outcome not in ("explanation and booking decision", "cut at the end of the load")
        return outcome, persona.id if unfinished else None

    return one


def stock_conversation(send: Callable[[str], list[dict[str, Any]]], index: int) -> tuple[str, str | None]:
    script = STOCK_SCRIPTS[index % len(STOCK_SCRIPTS)]
    try:
        for text in script:
            send(text)
    except _TimeUp:
        return "cut at the end of the load", None
    except Exception:
        return "error", None
    return "finished", None


def playable_personas(url: str, personas: Sequence[Persona], jobs: int = 4) -> tuple[list[Persona], list[str]]:
    """Play every persona once, ``jobs`` at a time and without think time, before the clock starts.

    Returns the personas whose conversation reached an explanation and a booking decision with
    this model (the load plays only those), and the ids of the others. It also warms the servers up.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(persona: Persona) -> bool:
        sender = f"check-{persona.id}-{uuid.uuid4().hex[:8]}"
        with requests.Session() as session:
            transcript = play(persona, lambda text: post(session, url, sender, text))
        return our_outcome(persona, transcript) == "explanation and booking decision"

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        reached = list(pool.map(one, personas))
    kept = [p for p, ok in zip(personas, reached, strict=True) if ok]
    return kept, [p.id for p, ok in zip(personas, reached, strict=True) if not ok]


def warm_up(url: str, messages: Sequence[str]) -> None:
    """A few messages before the clock starts (first-use costs are not the load's)."""
    sender = f"warmup-{uuid.uuid4().hex[:8]}"
    with requests.Session() as session:
        for text in messages:
            post(session, url, sender, text)


# --------------------------------------------------------------------------------------------
# Profiling (py-spy)


def start_profilers(pids: Mapping[str, int], seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    spy = BIN / "py-spy"
    if not spy.exists():
        raise SystemExit("py-spy is not installed in the venv (requirements-dev.txt): run 'make install'.")
    out.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "50",
                "--format",
                "raw",
                "--output",
                str(out / f"{name}.txt"),
                "--gil",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]


def top_frames(collapsed: Path, limit: int = 25) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """From py-spy's raw (collapsed) output: total samples, the top frames by self and by total samples."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [_short_frame(f) for f in stack.split(";")]
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return samples, own.most_common(limit), total.most_common(limit)


def _short_frame(frame: str) -> str:
    """``name (path/to/site-packages/pkg/mod.py:12)`` → ``name (pkg/mod.py:12)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.10/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


def print_profile(out: Path, seconds: float) -> None:
    for name in ("rasa", "actions"):
        path = out / f"{name}.txt"
        if not path.exists():
            print(f"(no profile for {name})")
            continue
        samples, own, total = top_frames(path)
        print(f"\n=== py-spy {name}: {samples} samples holding the GIL (of {50 * seconds:.0f} in {seconds:.0f} s)")
        print("  self %   frame")
        for frame, count in own:
            print(f"  {100 * count / max(1, samples):5.1f}   {frame}")
        print("  total %  frame")
        for frame, count in total:
            print(f"  {100 * count / max(1, samples):5.1f}   {frame}")


# --------------------------------------------------------------------------------------------
# Reporting


@dataclass
class Row:
    name: str
    patients: int
    duration: float
    recorder: Recorder
    memory: dict[str, dict[str, float]]
    cpu: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per_turn(self, name: str) -> str:
        if name not in self.cpu or not self.turns:
            return "—"
        return f"{1000 * self.cpu[name] / self.turns:.0f}"

    @property
    def turns(self) -> int:
        return len(self.recorder.latencies)

    @property
    def throughput(self) -> float:
        return self.recorder.completed_in_time / self.duration

    def p(self, q: float) -> float:
        return percentile(self.recorder.latencies, q)

    @property
    def errors(self) -> int:
        return sum(self.recorder.errors.values())


def machine() -> dict[str, str]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count() or "?"),
        "cpu": model,
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def _mem(row: Row, name: str) -> str:
    figures = row.memory.get(name)
    if not figures:
        return "—"
    return f"{figures['peak']:.0f} (start {figures['start']:.0f})"


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| assistant | turns | turns/s | p50 s | p95 s | p99 s | max s | errors "
        "| Rasa RSS MiB | action server RSS MiB | CPU ms/turn: Rasa, actions, load client |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        worst = max(row.recorder.latencies, default=0.0)
        lines.append(
            f"| {row.name} | {row.turns} | {row.throughput:.1f} | {row.p(50):.2f} | {row.p(95):.2f} | "
            f"{row.p(99):.2f} | {worst:.2f} | {row.errors} | {_mem(row, 'rasa')} | {_mem(row, 'actions')} | "
            f"{row.cpu_ms_per_turn('rasa')}, {row.cpu_ms_per_turn('actions')}, {row.cpu_ms_per_turn('client')} |"
        )
    return lines


def ratios(ours: Row, stock: Row) -> dict[str, float]:
    return {
        "throughput": ours.throughput / stock.throughput if stock.throughput else 0.0,
        "p95": ours.p(95) / stock.p(95) if stock.p(95) else float("inf"),
    }


def verdict(ours: Row, stock: Row) -> list[str]:
    r = ratios(ours, stock)
    ok_t, ok_p = r["throughput"] >= GOAL_THROUGHPUT, r["p95"] <= GOAL_P95
    ok_e = ours.errors == 0 and stock.errors == 0
    return [
        f"- throughput ours/stock: **{r['throughput']:.2f}** (goal ≥ {GOAL_THROUGHPUT}) {'✓' if ok_t else '✗'}",
        f"- p95 latency ours/stock: **{r['p95']:.2f}** (goal ≤ {GOAL_P95}) {'✓' if ok_p else '✗'}",
        f"- errors: ours {ours.errors}, stock {stock.errors} (goal 0) {'✓' if ok_e else '✗'}",
    ]


def details(row: Row) -> list[str]:
    rec = row.recorder
    lines = [f"- {row.name}: conversations " + (", ".join(f"{k} {v}" for k, v in sorted(rec.conversations.items())))]
    if rec.errors:
        lines.append(f"  - errors by kind: {', '.join(f'{k} {v}' for k, v in rec.errors.most_common())}")
    if rec.empty:
        lines.append(f"  - turns answered with no message: {rec.empty}")
    if rec.unfinished:
        lines.append(f"  - unfinished: {', '.join(f'{k} ×{v}' for k, v in sorted(rec.unfinished.items()))}")
    return lines


def render(meta: Mapping[str, Any], rows: Sequence[Row]) -> str:
    m = meta["machine"]
    lines = [
        "# Load benchmark",
        "",
        f"`make bench-load` (`bench/load.py`), {meta['date']}. Machine: {m['cpus']} × {m['cpu']}, "
        f"{m['memory']} memory, {m['system']}, Python {m['python']}, Rasa {meta['rasa']}. "
        f"Load average before the run: {meta['load_before']}.",
        "",
        f"Load: {meta['patients']} simulated patients for {meta['duration']:.0f} s per assistant, each playing whole "
        f"conversations over REST back to back with a think time of {meta['think'][0]}–{meta['think'][1]} s "
        "before every message; SQLite tracker store (a temporary file) for both.",
        f"Ours: `{meta['model']}` with its action server, patients from `bench/dialogue/tuning.yml` "
        f"({meta['personas']} personas that reach an explanation and a booking decision in a first pass"
        + (f"; left out: {', '.join(meta['left_out'])}" if meta["left_out"] else "")
        + "). "
        f"Stock: the `rasa init` assistant (`{meta['stock_model']}`), its greet / mood conversations.",
        "",
        *table(rows),
        "",
        "Turns/s counts turns answered within the time; latencies are every answered turn's, from request to "
        "answer. RSS: peak during the load (at its start in brackets), each process with its children. "
        "CPU: user + system time each process used during the load, per answered turn.",
        "",
    ]
    by_name = {row.name: row for row in rows}
    if "ours" in by_name and "stock" in by_name:
        lines += ["## Ratios", "", *verdict(by_name["ours"], by_name["stock"]), ""]
    lines += ["## Conversations", "", *[line for row in rows for line in details(row)], ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main


def measure(
    name: str,
    servers: Servers,
    args: argparse.Namespace,
    conversation: Callable[[Callable[..., Any], int], tuple[str, str | None]],
    warm: Sequence[str],
    profile: Path | None,
) -> Row:
    print(f"[{name}] warming up …", flush=True)
    warm_up(servers.rasa_url, warm)
    pids = {n: p.pid for n, p in servers.processes.items()}
    sampler = MemorySampler(pids)
    sampler.start()
    spies = start_profilers(pids, args.duration, profile) if profile else []
    print(f"[{name}] {args.patients} patients for {args.duration:.0f} s …", flush=True)
    recorder = run_load(servers.rasa_url, args.patients, args.duration, tuple(args.think), conversation, args.seed)
    memory = sampler.stop()
    for spy in spies:
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.terminate()
    dead = [n for n, p in servers.processes.items() if p.poll() is not None]
    if dead:
        print(f"[{name}] a server stopped during the load: {', '.join(dead)}\n{servers.tail()}", file=sys.stderr)
    row = Row(name, args.patients, args.duration, recorder, memory, dict(sampler.cpu))
    print("\n".join(table([row])[2:]), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=20, help="simulated patients at once (default 20)")
    parser.add_argument("--duration", type=float, default=45.0, help="seconds of load per assistant (default 45)")
    parser.add_argument("--think", type=float, nargs=2, default=(0.2, 0.5), metavar=("MIN", "MAX"))
    parser.add_argument("--only", choices=("ours", "stock"), help="load one assistant only (no ratios)")
    parser.add_argument("--model", help="our trained model (default: CLINIC_MODEL, else the newest in models/)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy our servers during the load into DIR")
    parser.add_argument("--report", type=Path, default=REPORT, help="where to write the markdown report")
    parser.add_argument("--no-report", action="store_true", help="print only")
    parser.add_argument("--keep", action="store_true", help="keep the servers' databases and logs")
    args = parser.parse_args(argv)
    if args.patients < 1 or args.duration <= 0 or not 0 <= args.think[0] <= args.think[1]:
        parser.error("--patients ≥ 1, --duration > 0 and 0 ≤ think MIN ≤ MAX")

    import rasa

    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    model = find_model(args.model)
    if args.only != "stock" and not model.exists():
        print(f"No model at {model}.", file=sys.stderr)
        return 2
    stock_model = stock_init_model() if args.only != "ours" else None
    personas = load_personas_for_load()
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    rows: list[Row] = []
    left_out: list[str] = []
    print(f"Load benchmark: {args.patients} patients, {args.duration:.0f} s each (servers' files in {work})")
    if args.only != "stock":
        print("[ours] starting Rasa and the action server …", flush=True)
        servers = start_ours(model, work)
        try:
            print(f"[ours] playing each of {len(personas)} personas once (warm-up; keeps those that finish) …")
            personas, left_out = playable_personas(servers.rasa_url, personas)
            if len(personas) < 10:
                raise SystemExit(f"Only {len(personas)} personas reach an explanation and a booking decision.")
            conversation = ours_conversation(personas)
            rows.append(measure("ours", servers, args, conversation, list(_warm_lines(personas[0])), args.profile))
        finally:
            servers.stop()
    if stock_model is not None:
        print("[stock] starting the `rasa init` assistant …", flush=True)
        servers = start_stock(stock_model, work)
        try:
            rows.append(measure("stock", servers, args, stock_conversation, STOCK_SCRIPTS[1], None))
        finally:
            servers.stop()
    if args.keep or any(row.errors for row in rows):
        print(f"The servers' databases and logs are kept in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "rasa": rasa.__version__,
        "load_before": load_before,
        "patients": args.patients,
        "duration": args.duration,
        "think": tuple(args.think),
        "model": str(shown),
        "stock_model": str(stock_model.relative_to(ROOT)) if stock_model else "—",
        "personas": len(personas),
        "left_out": left_out,
    }
    print()
    print("\n".join(table(rows)))
    by_name = {row.name: row for row in rows}
    if "ours" in by_name and "stock" in by_name:
        print("\n".join(verdict(by_name["ours"], by_name["stock"])).replace("**", ""))
    print("\n".join(line for row in rows for line in details(row)))
    if args.profile:
        print_profile(args.profile, args.duration)
    if not args.no_report and not args.profile:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(render(meta, rows), encoding="utf-8")
        print(f"\nWrote {args.report.relative_to(ROOT) if args.report.is_relative_to(ROOT) else args.report}")
    return 0


def _warm_lines(persona: Persona) -> Iterator[str]:
    yield persona.opening
    for slot in ("surgery_type", "weeks_since_surgery", "pain_course", "symptoms"):
        replies = persona.answers.get(slot)
        if replies:
            yield replies[0]


if __name__ == "__main__":
    raise SystemExit(main())
