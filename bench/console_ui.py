"""The agent console at a busy shop's scale: `python -m bench console`.

For each N (default 1,000 / 3,000 / 10,000): one `beckon serve` node (SQLite, a private
Redis), N live visitors written to Redis as a visitor node writes them
(`bench.live_visitors`) and kept browsing — a page view every ~30 s and a behaviour
change every ~10 s per visitor, so N × 0.13 watch events a second — and headless
Chromium signed in to the console. Measured, per N:

- first rows: navigation to `/agent/#visitors` → the first visitor row on screen;
- long tasks (> 50 ms) per minute on the console's main thread, over the window;
- input latency p95: an invitation opened and typed into, keydown → next frame;
- view switch: Visitors → Chats and Chats → Visitors (rows on screen), the slower;
- console bytes/s received on its socket, over the window;
- server CPU (share of one core) and RSS over the window;
- counts exact: with the load paused, the view's counts equal N.

Targets at 10,000: first rows ≤ 1 s, input p95 ≤ 100 ms, ≤ 5 long tasks a
minute, view switch ≤ 300 ms, counts exact. Every loop is bounded; all on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.infra import REPO, SERVER_CORE, Redis, free_port, spawn, wait_port
from bench.live_visitors import LiveVisitors
from bench.systems import wait_ready
from server.broker import open_broker

CHROMIUM = os.environ.get("BECKON_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@bench.example.com", "bench admin password"
EVENTS_PER_VISITOR_S = 1 / 30 + 1 / 10
TARGETS = {"first_rows_s": 1.0, "input_p95_ms": 100.0, "long_tasks_min": 5.0, "switch_ms": 300.0}
# In the page before any script: long tasks and input latency, collected for the bench.
PAGE_PROBE = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});
window.__latency = [];
document.addEventListener('keydown', (e) => {
  const t0 = e.timeStamp;
  requestAnimationFrame(() => setTimeout(() => window.__latency.push(performance.now() - t0), 0));
}, true);
"""
# Visitors → Chats (its view shown) or Chats → Visitors (a row on screen), then a frame.
SWITCH = """async (target) => {
  const shown = () => target === 'chats'
    ? !document.getElementById('view-chats').hidden
    : document.querySelector('#view-visitors tr.vrow[data-visitor]') !== null;
  const t0 = performance.now();
  location.hash = '#' + target;
  for (let i = 0; i < 600 && !shown(); i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""
TYPED = "Hi! Free shipping on orders over 50 euros today."


class Node:
    """One `beckon serve` on SQLite and the private Redis, with an admin and a site."""

    def __init__(self, workdir: Path, redis_url: str) -> None:
        self.workdir = workdir
        self.prefix = f"bench-ui-{secrets.token_hex(3)}:"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BECKON_")}
        self.env.update(
            BECKON_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / (self.prefix[:-1] + '.db')}",
            BECKON_BROKER_URL=redis_url,
            BECKON_BROKER_PREFIX=self.prefix,
            BECKON_SECRET_KEY="bench-secret-" + secrets.token_hex(24),
            BECKON_LOG_LEVEL="WARNING",
        )
        self.port = free_port()
        self.proc: Any = None
        self.site: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        create = ["create-admin", "--email", ADMIN_EMAIL, "--password-stdin"]
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "server.cli", *create],
            input=ADMIN_PASSWORD + "\n",
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"create-admin failed: {done.stderr}")
        probe = self.workdir / f"{self.prefix[:-1]}.probe.json"
        argv = [sys.executable, "-m", "bench.beckon_node", str(probe), "serve"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--no-bootstrap"]
        self.proc = spawn(self.prefix[:-1], argv, self.workdir, SERVER_CORE, self.env)
        await wait_port(self.port, 60, self.proc.popen)
        await wait_ready(self.url, self.proc)
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as c:
            r = await c.post(
                "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            r.raise_for_status()
            csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
            r = await c.post("/api/v1/sites", headers=csrf, json={"name": "Bench shop"})
            r.raise_for_status()
            self.site = r.json()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


class Browsing:
    """Keeps the visitors browsing at the issue's rate until stopped (bounded)."""

    def __init__(self, load: LiveVisitors) -> None:
        self.load = load
        self.running = asyncio.Event()
        self.lock = asyncio.Lock()
        self.events = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        fraction = min(1.0, EVENTS_PER_VISITOR_S)
        for step in range(3600):  # at most an hour of steps
            await self.running.wait()
            started = time.monotonic()
            async with self.lock:
                if not self.running.is_set():
                    continue
                self.events += len(await self.load.step(fraction))
                if step % 30 == 29:  # as a visitor node does (the online group's TTL: 90 s)
                    await self.load.refresh_presence()
            # One step a second; a step slower than that runs back to back.
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    async def pause(self) -> None:
        self.running.clear()
        async with self.lock:
            pass

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def measure(n: int, seconds: float, redis_url: str, workdir: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    node = Node(workdir, redis_url)
    await node.start()
    broker = open_broker(redis_url, prefix=node.prefix)
    await broker.start()
    result: dict[str, Any] = {"visitors": n}
    try:
        load = LiveVisitors(broker, node.site["id"], count=n, seed=n)
        await load.arrive()
        browsing = Browsing(load)
        browsing.running.set()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = await browser.new_context(viewport={"width": 1280, "height": 720})
            await context.add_init_script(PAGE_PROBE)
            signing_in = await context.new_page()
            received = [0]
            closes: list[str] = []

            def on_socket(ws: Any) -> None:
                ws.on(
                    "framereceived",
                    lambda payload: received.__setitem__(0, received[0] + len(payload)),
                )
                ws.on("close", lambda _ws: closes.append(ws.url))

            await signing_in.goto(node.url + "/agent/")
            await signing_in.get_by_label("Email").fill(ADMIN_EMAIL)
            await signing_in.get_by_label("Password").fill(ADMIN_PASSWORD)
            await signing_in.get_by_role("button", name="Sign in").click()
            await signing_in.wait_for_selector("body[data-connection=ready]", timeout=60_000)
            # First rows: a page load straight to the view (a deep link opened in a new tab,
            # signed in by its cookie) — the HTML and scripts, /me, the socket's welcome,
            # the view's first window, all of it. (A `goto` to another hash of the same
            # page would only change the fragment, not load a page.)
            page = await context.new_page()
            page.on("websocket", on_socket)
            started = time.perf_counter()
            await page.goto(node.url + "/agent/#visitors")
            await page.wait_for_selector("#view-visitors tr.vrow[data-visitor]", timeout=120_000)
            result["first_rows_s"] = time.perf_counter() - started
            await signing_in.close()

            # The window: the console shows the live view while the load runs.
            proc = psutil.Process(node.proc.pid)
            cpu0, rx0, t0 = proc.cpu_times(), received[0], time.perf_counter()
            await page.evaluate("window.__longTasks = []")
            # Open an invitation and type into it while the rows update.
            await page.locator("#view-visitors tr.vrow[data-visitor] button").first.click()
            box = page.get_by_label("Invitation text")
            await box.fill("")
            for _round in range(max(1, int(seconds // 10))):
                await box.press_sequentially(TYPED, delay=60)
                await box.fill("")
            remaining = seconds - (time.perf_counter() - t0)
            if remaining > 0:
                await asyncio.sleep(remaining)  # the measurement window, not a wait for anything
            elapsed = time.perf_counter() - t0
            cpu1 = proc.cpu_times()
            result["long_tasks_min"] = len(await page.evaluate("window.__longTasks")) * 60 / elapsed
            result["input_p95_ms"] = p95(await page.evaluate("window.__latency"))
            result["console_bytes_s"] = (received[0] - rx0) / elapsed
            result["server_cpu"] = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / elapsed
            result["server_rss_mb"] = proc.memory_info().rss / 2**20
            result["events_s"] = browsing.events / max(elapsed, 1e-9)

            # View switches, each until the other view is on screen.
            switch = []
            for target in ("chats", "visitors"):
                switch.append(await page.evaluate(SWITCH, target))
            result["switch_ms"] = max(switch)

            # Counts exact: the load paused, the view's counts settle on N.
            await browsing.pause()
            exact = False
            for _ in range(100):  # ≤ 10 s
                total = await page.locator("#view-visitors [data-total]").text_content()
                states = await page.evaluate(
                    "[...document.querySelectorAll('#view-visitors [data-count]')]"
                    ".filter((e) => e.dataset.count !== 'all')"
                    ".reduce((s, e) => s + Number(e.textContent), 0)"
                )
                if total == str(n) and states == n:
                    exact = True
                    break
                await asyncio.sleep(0.1)
            result["counts_exact"] = exact
            result["console_closed"] = len(closes)
            await browsing.stop()
            await browser.close()
    finally:
        await broker.close()
        node.stop()
    return result


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        ("first rows", "first_rows_s", "{:.2f} s", "≤ 1 s"),
        ("long tasks / min", "long_tasks_min", "{:.1f}", "≤ 5"),
        ("input latency p95", "input_p95_ms", "{:.0f} ms", "≤ 100 ms"),
        ("view switch", "switch_ms", "{:.0f} ms", "≤ 300 ms"),
        ("console bytes/s", "console_bytes_s", "{:,.0f}", ""),
        ("server CPU (one core)", "server_cpu", "{:.0%}", ""),
        ("server RSS", "server_rss_mb", "{:.0f} MB", ""),
        ("watch events/s (load)", "events_s", "{:,.0f}", ""),
        ("counts exact", "counts_exact", "{}", "yes"),
        ("console sockets closed", "console_closed", "{}", "0"),
    ]
    head = (
        "| | "
        + " | ".join(f"{r['visitors']:,} visitors" for r in results)
        + " | target at 10,000 |"
    )
    lines = [head, "|---" * (len(results) + 2) + "|"]
    for label, key, fmt, target in rows:
        cells = []
        for r in results:
            value = r.get(key)
            if isinstance(value, bool):
                cells.append("yes" if value else "NO")
            else:
                cells.append(fmt.format(value) if value is not None else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    return "\n".join(lines)


async def console_bench(sizes: list[int], seconds: float, output: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="beckon-bench-ui-") as tmp:
        workdir = Path(tmp)
        redis = Redis(workdir)
        await redis.start()
        results = []
        try:
            for n in sizes:
                print(f"console bench: {n:,} visitors…", file=sys.stderr, flush=True)
                results.append(await measure(n, seconds, redis.url, workdir))
        finally:
            redis.stop()
    print(table(results))
    out = Path(output) if output else REPO / "bench" / "results" / "console_ui.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0
