"""The console's first page of a prefix, at 1,000 and at 100,000 keys: does its cost grow with the prefix?

    python -m bench.console [--rounds 5] [--requests 10] [--large 100000] [--small 1000] [--no-browser]

Starts a gateway and loads one bucket through its bulk import (`small/` with --small keys, `large/` with
--large keys), then serves the uploader (console on) under gunicorn as the stack does. In interleaved
rounds (small, large, small, large, ...) it times, for the default page size (200) and for 1,000 entries:

- `boto3 page`: the floor, one list_objects_v2 page (Delimiter "/") as any client would make it;
- `console HTML`: GET /console/b/<bucket>/?prefix=... over a keep-alive connection, the whole answer;
- `browser load`: headless Chromium opening the page, from the navigation's start to the end of its
  `load` event (HTML, CSS and script fetched, parsed, laid out), by the browser's own Navigation Timing
  (needs Chromium: `make browser`; the live-update polls are dropped; CSS and script come from the
  browser's cache after the first page, as when a person moves from page to page).

Each figure is the median over rounds of each round's median.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

import requests

from bench.common import ROOT, MotoServer, make_test_client, merged_env, print_table, venv_bin
from common.bulk_tar import BucketEntry, ObjectEntry, write_archive
from testkit.servers import free_port

BUCKET = "console-bench"
REGION = "ap-northeast-1"


def bulk_load(moto_url: str, keys_by_prefix: dict[str, int]) -> None:
    """Every key in one tar through the gateway's bulk import: 100,000 objects in seconds."""
    body = b"x" * 16

    def members():
        yield BucketEntry(BUCKET, REGION)
        for prefix, count in keys_by_prefix.items():
            for index in range(count):
                yield ObjectEntry(BUCKET, f"{prefix}object-{index:06d}.txt", len(body)), [body]

    answer = requests.post(f"{moto_url}/_bulk/import", data=write_archive(members()), timeout=600)
    answer.raise_for_status()


def start_uploader(moto_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION, "S3_BUCKET": "console-bench-uploads", "S3_PUBLIC_ENDPOINT_URL": moto_url,
        "UPLOADER_PUBLIC_URL": url, "S3_BUCKET_CHECK_INTERVAL": "0", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    process = subprocess.Popen(
        [venv_bin("gunicorn"), "-c", "uploader/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "uploader:create_app()"],
        cwd=ROOT, env=merged_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the uploader did not start")


def ms(seconds: float) -> float:
    return seconds * 1000


def time_boto3(client, prefix: str, size: int, count: int) -> float:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.list_objects_v2(Bucket=BUCKET, Prefix=prefix, Delimiter="/", MaxKeys=size)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def time_html(session: requests.Session, url: str, count: int, expected_rows: int) -> float:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        answer = session.get(url, timeout=30)
        samples.append(time.perf_counter() - started)
        answer.raise_for_status()
        rows = answer.text.count('class="object"')
        if rows != expected_rows:
            raise RuntimeError(f"{url} showed {rows} rows, not {expected_rows}")
    return statistics.median(samples)


def time_browser(page, url: str, count: int, expected_rows: int) -> float:
    """Seconds from the navigation's start to the end of its load event, by the browser's own clock
    (Navigation Timing), without Playwright's round trips."""
    loads = []
    for _ in range(count):
        page.goto(url, wait_until="load")
        load = page.evaluate(
            """() => new Promise(resolve => setTimeout(
                 () => resolve(performance.getEntriesByType('navigation')[0].loadEventEnd), 0))"""
        )
        loads.append(load / 1000)
        if page.locator("#entries tr.object").count() != expected_rows:
            raise RuntimeError(f"{url} did not show {expected_rows} rows")
    return statistics.median(loads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=10, help="requests per case and round")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)

    moto = MotoServer(env={"LOG_LEVEL": "WARNING"})
    moto.start()
    uploader = None
    try:
        started = time.perf_counter()
        bulk_load(moto.url, {"small/": args.small, "large/": args.large})
        print(f"loaded {args.small + args.large:,} keys in {time.perf_counter() - started:.1f} s", flush=True)
        uploader, url = start_uploader(moto.url)
        client = make_test_client(moto.url)
        session = requests.Session()
        cases = [(prefix, size) for size in (200, 1000) for prefix in ("small/", "large/")]
        counts = {"small/": args.small, "large/": args.large}
        results: dict[tuple[str, int], dict[str, list[float]]] = {
            case: {"boto3": [], "html": [], "load": []} for case in cases
        }
        playwright = browser = page = None
        if not args.no_browser:
            from playwright.sync_api import sync_playwright

            from tests.browser import CHROMIUM, CHROMIUM_ARGS

            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            # A page's live-update poll holds a server thread for up to 5 s; a person leaves a page open,
            # the benchmark does not, so its polls would only pile up on the server: they are blocked, at
            # the network layer (page.route would turn the browser's cache off).
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setBlockedURLs", {"urls": ["*/console/api/*"]})
        for prefix, size in cases:  # warm up every path, in both gunicorn workers
            page_url = f"{url}/console/b/{BUCKET}/?prefix={prefix}&size={size}"
            for _ in range(4):
                session.get(page_url, timeout=30).raise_for_status()
                if page is not None:
                    page.goto(page_url, wait_until="load")
        load_before = os.getloadavg()[0]
        for _ in range(args.rounds):
            for prefix, size in cases:
                page_url = f"{url}/console/b/{BUCKET}/?prefix={prefix}&size={size}"
                rows = min(size, counts[prefix])
                timings = results[(prefix, size)]
                timings["boto3"].append(time_boto3(client, prefix, size, args.requests))
                timings["html"].append(time_html(session, page_url, args.requests, rows))
                if page is not None:
                    timings["load"].append(time_browser(page, page_url, max(3, args.requests // 3), rows))
        if browser is not None:
            browser.close()
            playwright.stop()
        table = []
        for prefix, size in cases:
            timings = results[(prefix, size)]
            table.append(
                [
                    f"{counts[prefix]:,}",
                    str(size),
                    f"{ms(statistics.median(timings['boto3'])):.1f}",
                    f"{ms(statistics.median(timings['html'])):.1f}",
                    f"{ms(statistics.median(timings['load'])):.1f}" if timings["load"] else "-",
                ]
            )
        print_table(
            f"First page of a prefix (medians of {args.rounds} interleaved rounds, {os.cpu_count()} CPUs, "
            f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)",
            ["keys in prefix", "page size", "boto3 page ms", "console HTML ms", "browser load ms"],
            table,
        )
    finally:
        if uploader is not None:
            uploader.send_signal(signal.SIGTERM)
            uploader.wait(timeout=30)
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
