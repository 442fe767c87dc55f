"""pageweight: bytes a resident's phone downloads for the home page and the report page.

  python benchmarks/bench_pageweight.py [--scale small|medium|city] [--db sqlite|postgres]

Chromium (/usr/bin/chromium or SHEQU_CHROMIUM, through Playwright, with the browser tests'
launch arguments) with a phone-sized window opens each page logged in as the demo resident
against the production stack (benchmarks/stack.py: whitenoise serves the collected, compressed
static files). Bytes are what went over the wire (the Chrome DevTools protocol's
encodedDataLength, headers included) for every request of the page until the network is idle:
the first load with an empty cache, then a second load (what the cache saves). The HTML is the
document's own size, uncompressed. Targets: first load ≤ 300 KB, HTML ≤ 50 KB.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    configure,
    data_dir,
    database_url,
    metric,
    missing,
    print_table,
    save,
)
from benchmarks.stack import ProductionStack

CHROMIUM = os.environ.get("SHEQU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGES = [("home", "/"), ("report", "/cases/report/")]


def resident_session() -> str:
    from django.test import Client

    from shequ.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="resident"))
    key = client.session.session_key
    assert key is not None  # force_login saved the session
    return key


def weigh(context, url: str) -> dict:
    """Load `url` in a new tab; transferred bytes of all requests, HTML size, failures."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    requests: dict[str, dict] = {}

    def on_response(event):
        request = requests.setdefault(event["requestId"], {})
        request["type"] = event.get("type")
        request["url"] = event["response"]["url"]
        request["status"] = event["response"]["status"]

    def on_finished(event):
        requests.setdefault(event["requestId"], {})["bytes"] = event["encodedDataLength"]

    def on_failed(event):
        requests.setdefault(event["requestId"], {})["failed"] = event.get("errorText", "failed")

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    cdp.on("Network.loadingFailed", on_failed)
    response = page.goto(url, wait_until="networkidle")
    html = len(response.body()) if response else 0
    status = response.status if response else 0
    page.wait_for_timeout(300)
    final_url = page.url
    if os.environ.get("SHEQU_BENCH_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SHEQU_BENCH_SCREENSHOTS"], f"{id(page)}.png"))
    page.close()
    total = sum(r.get("bytes", 0) for r in requests.values())
    by_type: dict[str, int] = {}
    for r in requests.values():
        kind = (r.get("type") or "Other").lower()
        by_type[kind] = by_type.get(kind, 0) + r.get("bytes", 0)
    failed = [f"{r.get('url', '?')} ({r['failed']})" for r in requests.values() if "failed" in r]
    return {
        "status": status if "/login" not in final_url else f"redirected to {final_url}",
        "html": html,
        "total": total,
        "requests": len(requests),
        "by_type": by_type,
        "failed": failed,
    }


def bench(args) -> list[dict]:
    if not Path(CHROMIUM).exists():
        why = f"Chromium not found at {CHROMIUM}"
        return [
            missing(f"pageweight.{name}.{part}", "KB", why, target=limit)
            for name, _path in PAGES
            for part, limit in (("first_load", 300), ("html", 50))
        ]
    from playwright.sync_api import sync_playwright

    session = resident_session()
    rows = []
    with (
        ProductionStack(
            data_dir(args.scale, args.db), database_url(args.scale, args.db), web_workers=2
        ) as stack,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        for name, path in PAGES:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=1,
                is_mobile=True,
                locale="zh-CN",
                base_url=stack.base_url,
                extra_http_headers={"X-Forwarded-Proto": "https"},
            )
            context.add_cookies(
                [
                    {
                        "name": "__Host-sessionid",
                        "value": session,
                        "domain": "127.0.0.1",
                        "path": "/",
                        "secure": True,
                        "httpOnly": True,
                    }
                ]
            )
            first = weigh(context, stack.base_url + path)
            second = weigh(context, stack.base_url + path)
            context.close()
            print(f"  {name}: first {first} second {second}", flush=True)
            if first["status"] != 200:
                why = f"GET {path} as the resident answered {first['status']}"
                rows += [
                    missing(f"pageweight.{name}.first_load", "KB", why, target=300),
                    missing(f"pageweight.{name}.html", "KB", why, target=50),
                ]
                continue
            kinds = ", ".join(f"{k} {v / 1024:.0f} KB" for k, v in sorted(first["by_type"].items()))
            note = f"GET {path} as the resident, {first['requests']} requests ({kinds})" + (
                f"; failed: {', '.join(first['failed'][:5])}" if first["failed"] else ""
            )
            rows += [
                metric(
                    f"pageweight.{name}.first_load",
                    first["total"] / 1024,
                    "KB",
                    target=300,
                    note=note,
                ),
                metric(
                    f"pageweight.{name}.html",
                    first["html"] / 1024,
                    "KB",
                    target=50,
                    note="the document, uncompressed",
                ),
                metric(
                    f"pageweight.{name}.repeat_load",
                    second["total"] / 1024,
                    "KB",
                    note=f"second load in the same browser ({second['requests']} requests)",
                ),
            ]
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    configure(args.scale, args.db)
    metrics = bench(args)
    print_table(metrics)
    print("saved", save("pageweight", args.scale, args.db, metrics))


if __name__ == "__main__":
    main()
