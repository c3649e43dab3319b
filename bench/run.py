"""`make bench`: Chairside under gunicorn and PostgreSQL with user journeys (run inside .ci/with-postgres).

Steps: migrate the throwaway database, load the synthetic dataset (manage.py bench_data), collectstatic, start
gunicorn (2 workers, DEBUG off) on a free loopback port, log the bench nurses in through the real login form,
then run locust headless once per journey (20 users, --seconds each, no think time) plus a bare /healthz
baseline, time the engine and a typical plan PDF, write bench/results/latest.json and a dated copy and print a
table. Everything it starts is stopped on exit (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.cookiejar
import json
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RESULTS = ROOT / "bench" / "results"
JOURNEYS = [  # (result key, locust user class)
    ("healthz", "Healthz"),
    ("signed_in_healthz", "SignedInHealthz"),  # the floor of a signed-in request (session, user, middleware)
    ("patient_list", "PatientList"),
    ("patient_page", "PatientPage"),
    ("wizard_step_get", "WizardStepGet"),
    ("wizard_step_post", "WizardStepPost"),
    ("care_plan", "CarePlan"),
    ("api_evaluate", "ApiEvaluate"),
    ("plan_pdf", "PlanPdf"),
    ("signed_pdf", "SignedPdf"),
]
CHILDREN: list[subprocess.Popen[bytes]] = []


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_children(*_: Any) -> None:
    for child in CHILDREN:
        if child.poll() is None:
            child.terminate()
    for child in CHILDREN:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    CHILDREN.clear()


def on_signal(signum: int, _frame: Any) -> None:
    stop_children()
    raise SystemExit(128 + signum)


def manage(env: dict[str, str], *args: str, timeout: int = 600) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout)


def wait_ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if CHILDREN and CHILDREN[-1].poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz in time")


def login(base: str, username: str, password: str) -> dict[str, str]:
    """Sign in through the real form (CSRF token and all); return the cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not token:
        raise SystemExit("no CSRF token on the login page")
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), "username": username, "password": password})
    request = urllib.request.Request(base + "/login/", data=body.encode(), headers={"Referer": base + "/login/"})
    opener.open(request, timeout=30).read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        raise SystemExit(f"login failed for {username}")
    return cookies


def url_exists(env: dict[str, str], name: str) -> bool:
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'clinic.settings'); django.setup()\n"
        "from django.urls import reverse, NoReverseMatch\n"
        f"try: reverse({name!r}, args=['00000000-0000-0000-0000-000000000000'])\n"
        "except NoReverseMatch: sys.exit(1)"
    )
    return subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=False, timeout=120).returncode == 0


def run_journey(env: dict[str, str], base: str, cls: str, users: int, seconds: int, out: Path) -> dict[str, Any]:
    cmd = [
        PY, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--only-summary",
        "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--stop-timeout", "5",
        "--host", base, "--loglevel", "WARNING", "--exit-code-on-error", "0", cls,
    ]  # fmt: skip
    with open(out.with_suffix(".log"), "wb") as log_file:
        child = subprocess.Popen(
            cmd, cwd=ROOT, env={**env, "CHAIRSIDE_BENCH_OUT": str(out)}, stdout=log_file, stderr=subprocess.STDOUT
        )
    CHILDREN.append(child)
    try:
        child.wait(timeout=seconds + 60)
    finally:
        CHILDREN.remove(child)
        if child.poll() is None:
            child.kill()
    return json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}


def time_pdf(base: str, cookies: dict[str, str], workups: list[str], n: int = 10) -> dict[str, Any]:
    """Single-user timing of a typical plan PDF (sequential, so it is the PDF's own latency)."""
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    times, errors = [], 0
    for workup in workups[:n]:
        request = urllib.request.Request(f"{base}/workups/{workup}/plan.pdf", headers={"Cookie": header})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                ok = response.status == 200 and response.headers.get_content_type() == "application/pdf"
        except urllib.error.HTTPError:
            ok = False
        times.append((time.perf_counter() - started) * 1000)
        errors += not ok
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "errors": errors}


def machine(env: dict[str, str]) -> dict[str, Any]:
    pg = "unknown"
    bindir = env.get("CHAIRSIDE_PG_BINDIR")
    if bindir:
        pg = subprocess.run([f"{bindir}/postgres", "--version"], capture_output=True, text=True).stdout.strip()
    memory_kb = 0
    with contextlib.suppress(OSError, AttributeError):
        memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        # A CPython built without PGO/LTO (pyenv's default) runs Django noticeably slower than a distribution build.
        "python_optimized": "--enable-optimizations" in str(sysconfig.get_config_var("CONFIG_ARGS") or ""),
        "commit": commit.stdout.strip() or "unknown",
        "postgres": pg,
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def print_table(result: dict[str, Any]) -> None:
    rows = [("healthz", result["healthz"]), *result["pages"].items()]
    base_rps = result["healthz"].get("rps") or 0
    print(f"\n{'journey':<18}{'req/s':>9}{'x healthz':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, row in rows:
        if not row.get("measured", True):
            print(f"{name:<18}  not measured: {row.get('reason', '')}")
            continue
        ratio = row["rps"] / base_rps if base_rps else 0
        print(
            f"{name:<18}{row['rps']:>9.1f}{ratio:>11.2f}{row['p50_ms']:>9.0f}{row['p95_ms']:>9.0f}"
            f"{row['p99_ms']:>9.0f}{row['errors']:>8}"
        )
    print(f"engine evaluate median: {result['engine_eval_us_median']} µs")
    if result.get("plan_pdf_single"):
        print(f"plan PDF, one user: median {result['plan_pdf_single']['median_ms']} ms")
    print(f"targets: {json.dumps(result['targets'])}\n")


def targets(result: dict[str, Any]) -> dict[str, Any]:
    pages = {k: v for k, v in result["pages"].items() if v.get("measured", True)}
    healthz = result["healthz"]["rps"]
    checks = {
        "care_plan_rps_at_least_half_healthz": pages.get("care_plan", {}).get("rps", 0) >= healthz / 2,
        "every_p95_under_150ms": all(v["p95_ms"] < 150 for v in [result["healthz"], *pages.values()]),
        "zero_errors": all(v["errors"] == 0 for v in [result["healthz"], *pages.values()]),
        "api_evaluate_at_least_300_rps": pages.get("api_evaluate", {}).get("rps", 0) >= 300,
        "engine_median_under_1ms": result["engine_eval_us_median"] < 1000,
    }
    if "signed_pdf" in pages:  # a signed plan's PDF is stored at signing: serving it is a read
        checks["signed_pdf_median_under_50ms"] = pages["signed_pdf"]["p50_ms"] < 50
    single = result.get("plan_pdf_single")
    checks["plan_pdf_under_1s"] = bool(single and single["errors"] == 0 and single["median_ms"] < 1000) or None
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--workups", type=int, default=20000)
    parser.add_argument("--only", help="comma-separated journeys to run (default: all)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker (1 = sync workers)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("run me through .ci/with-postgres (make bench)")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="chairside-bench."))
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CHAIRSIDE_SSL_REDIRECT": "0",
        "CHAIRSIDE_SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "CHAIRSIDE_BENCH_MANIFEST": str(work / "manifest.json"),
        "PYTHONPATH": str(ROOT),
    }
    try:
        manage(env, "migrate", "--noinput", "-v", "0")
        log("loading the synthetic dataset")
        load_started = time.monotonic()
        manage(env, "bench_data", "--manifest", str(work / "data.json"), "--patients", str(args.patients),
               "--workups", str(args.workups))  # fmt: skip
        load_seconds = round(time.monotonic() - load_started, 1)
        manage(env, "collectstatic", "--noinput", "-v", "0")
        data = json.loads((work / "data.json").read_text(encoding="utf-8"))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn = [PY, "-m", "gunicorn", "clinic.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                    "--log-level", "warning", "--timeout", "60"]  # fmt: skip
        if args.threads > 1:
            gunicorn += ["--worker-class", "gthread", "--threads", str(args.threads)]
        CHILDREN.append(subprocess.Popen(gunicorn, cwd=ROOT, env=env))
        wait_ready(base)
        log(f"gunicorn (2 workers x {args.threads} threads) on {base}; logging the bench nurses in")
        sessions = []
        for u, unit in enumerate(data["units"]):
            for index, nurse in enumerate(unit["nurses"]):
                cookies = login(base, nurse, data["password"])
                sessions.append({"unit": u, "index": index, "per_unit": len(unit["nurses"]), "cookies": cookies})
        Path(env["CHAIRSIDE_BENCH_MANIFEST"]).write_text(json.dumps({**data, "sessions": sessions}), encoding="utf-8")

        has_pdf = url_exists(env, "printing:plan-pdf")
        only = set(args.only.split(",")) if args.only else None
        measured: dict[str, Any] = {}
        for key, cls in JOURNEYS:
            if only and key not in only and key != "healthz":
                continue
            if key == "signed_pdf" and not any(unit.get("signed_pdfs") for unit in data["units"]):
                measured[key] = {"measured": False, "reason": "bench data has no signed plan with stored PDFs"}
                continue
            if key in ("plan_pdf", "signed_pdf") and not has_pdf:
                measured[key] = {"measured": False, "reason": "URL printing:plan-pdf does not exist yet"}
                continue
            log(f"journey {key}: {args.users} users for {args.seconds} s")
            stats = run_journey(env, base, cls, args.users, args.seconds, work / f"{key}.json")
            row = stats.get(key)
            if row is None:
                measured[key] = {"measured": False, "reason": "locust produced no result"}
                continue
            measured[key] = row
        pdf_single = time_pdf(base, sessions[0]["cookies"], data["units"][0]["plans"]) if has_pdf else None

        engine = subprocess.run([PY, "bench/bench_engine.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                                check=True, timeout=300)  # fmt: skip
        engine_result = json.loads(engine.stdout.strip().splitlines()[-1])
    finally:
        stop_children()

    result: dict[str, Any] = {
        "healthz": measured.get("healthz", {}),
        "pages": {key: measured[key] for key, _ in JOURNEYS[1:] if key in measured},
        "engine_eval_us_median": engine_result["engine_eval_us_median"],
        "engine_eval_baseline_us_median": engine_result["engine_eval_baseline_us_median"],
        "engine_eval_worst_us_median": engine_result["engine_eval_worst_us_median"],
        "plan_pdf_single": pdf_single,
        "setup": {
            "users": args.users,
            "seconds_per_journey": args.seconds,
            "gunicorn_workers": 2,
            "gunicorn_threads": args.threads,
            "think_time_s": 0,
            "dataset": data["counts"],
            "dataset_load_seconds": load_seconds,
        },
        "machine": machine(env),
    }
    result["targets"] = targets(result)
    result["setup"]["total_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1, sort_keys=False) + "\n"
    (RESULTS / "latest.json").write_text(text, encoding="utf-8")
    (RESULTS / f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H%M%SZ}.json").write_text(text, encoding="utf-8")
    print_table(result)
    log(f"results in {RESULTS / 'latest.json'} ({result['setup']['total_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
