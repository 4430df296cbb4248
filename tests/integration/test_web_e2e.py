"""The web client in headless Chromium against the running platform seeded with a small demo catalogue.

Shows: the first video plays (``currentTime`` advances); the next one is buffered before a touch swipe
and then starts (its start time is printed); watch events reach ``POST /events``; the next feed page is
fetched before the current one runs out; a like updates the count; an upload from the page reaches
``published`` and shows up in a fresh viewer's feed; the analytics page draws its charts; a moderator
approves a held video. Screenshots go to a temporary directory, or to ``REEL_SCREENSHOTS_DIR`` when
set (``REEL_SCREENSHOTS_DIR=docs/screenshots`` refreshes the README's): a test run leaves the checkout
clean. Debian's Chromium is driven through Playwright's Python package with ``executable_path`` (no
browser download).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from events.ids import now_us
from media.synth import make_clip
from reelstack.demo import seed_demo
from serve.api.auth import Principal, sign_token

from .api_client import Api, wait_status

pytestmark = pytest.mark.timeout(1200)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PHONE: dict[str, Any] = {"viewport": {"width": 412, "height": 860}, "has_touch": True, "is_mobile": True,
                         "device_scale_factor": 1}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 820}}
# A caption with two links: the spam heuristics score 0.7+ (held for a human), below auto-reject.
HELD_CAPTION = "my picks www.example.com/a and www.example.com/b"

ACTIVE_VIDEO = "document.querySelector('.slide.active video')"


@pytest.fixture(scope="module")
def demo(api_platform: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small demo catalogue (through the real pipeline) plus one upload held for review."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed: `make system` (SYSTEM_PACKAGES) installs it")
    base = api_platform.base_url
    root = tmp_path_factory.mktemp("web-clips")
    spammer = Api(base).register(name="Link Dropper", birth_year=1990)
    # Distinct "shapes" clips: the demo's "gradient" pattern looks alike whatever the seed, and the spam
    # heuristics hold near-duplicates for review.
    held = spammer.upload(make_clip(root / "held.mp4", 3, 288, 512, fps=24, pattern="shapes", seed=907),
                          description=HELD_CAPTION, music_id="sound-held")
    # As `reel up --demo` does, a seeding moderator approves demo clips the spam heuristics hold (on the shared
    # test platform they can look like other tests' generated clips); the spammer's upload stays held.
    seeder = Api(base).register(name="Seeding Moderator")
    seeder_token = sign_token(Principal(user_id=str(seeder.user_id), role="moderator",
                                        expires_at=now_us() + 3600 * 10**6), api_platform.settings.auth_secret.encode())
    report = seed_demo(base, clips=5, creators=3, viewers=12, workers=2, seed=91, publish_timeout_s=420,
                       moderator_token=seeder_token, keep_in_review=0)
    assert report.published == 5, report
    card = wait_status(spammer, held, {"in_review", "published", "rejected", "failed"})
    assert card["status"] == "in_review", card
    clip = make_clip(root / "mine.mp4", 3, 288, 512, fps=24, pattern="shapes", seed=913)
    return {"base": base, "held": held, "clip": clip, "secret": api_platform.settings.auth_secret.encode(),
            "state": {}}


@pytest.fixture(scope="module")
def browser(demo: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def phone(browser: Any) -> Iterator[Any]:
    """One phone-sized page kept across tests (anonymous first, then registered: one localStorage)."""
    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    page.events_posted = []  # type: ignore[attr-defined]
    page.feed_requests = []  # type: ignore[attr-defined]

    def on_request(req: Any) -> None:
        if req.method == "POST" and req.url.endswith("/api/v1/events"):
            page.events_posted.extend(json.loads(req.post_data or "{}").get("events", []))
        if req.method == "GET" and "/api/v1/feed" in req.url:
            page.feed_requests.append((req.url, time.monotonic()))

    page.on("request", on_request)
    yield page
    ctx.close()


@functools.cache
def screenshots_dir() -> Path:
    """``REEL_SCREENSHOTS_DIR`` (relative to the repository root) or ``reel-screenshots`` in the system's
    temporary folder (one folder that each run overwrites, not one more per run)."""
    configured = os.environ.get("REEL_SCREENSHOTS_DIR", "").strip()
    if not configured:
        return Path(tempfile.gettempdir()) / "reel-screenshots"
    path = Path(configured)
    return path if path.is_absolute() else Path(__file__).resolve().parents[2] / path


def _shot(page: Any, name: str) -> None:
    folder = screenshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name))


def _wait_playing(page: Any, min_time: float = 0.3, timeout_ms: int = 60_000) -> float:
    page.wait_for_function(f"() => {{ const v = {ACTIVE_VIDEO}; return v && v.currentTime > {min_time}; }}",
                           timeout=timeout_ms)
    return float(page.evaluate(f"{ACTIVE_VIDEO}.currentTime"))


def _swipe_up(page: Any) -> None:
    """A real touch swipe (finger moves up the screen) through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    x, y0, y1 = 200, 640, 240
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y0}]})
    for i in range(1, 6):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchMove", "touchPoints": [{"x": x, "y": y0 + (y1 - y0) * i / 5}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _token(page: Any) -> str:
    return str(page.evaluate("localStorage.getItem('reel.token')"))


def test_first_video_plays_and_swipe_starts_the_prefetched_next(phone: Any, demo: dict[str, Any]) -> None:
    page = phone
    page.goto(demo["base"] + "/#/?page=3")  # small pages: the next one is due while this one plays
    codecs = page.evaluate(
        "({h264: MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.64001f,mp4a.40.2\"'),"
        " vp9: MediaSource.isTypeSupported('video/webm; codecs=\"vp9,opus\"')})")
    print(f"\nchromium codecs (MSE): {codecs}")
    assert codecs["h264"], "this Chromium cannot decode H.264: the ladder needs a VP9 rendition for it"
    t1 = _wait_playing(page)
    page.wait_for_function(f"() => {ACTIVE_VIDEO}.currentTime > {t1 + 0.3}", timeout=10_000)  # it advances
    assert page.evaluate("localStorage.getItem('reel.session') !== null")  # anonymous device token
    first = page.evaluate("document.querySelector('.slide.active').dataset.videoId")
    deadline = time.monotonic() + 15
    while len(page.feed_requests) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate("document.querySelector('.feed').dataset.index") == "0"  # still on the first video
    _shot(page, "feed.png")

    # The next video is already buffered (playlist + first segments loaded while hidden).
    page.wait_for_function("() => { const s = document.querySelectorAll('.slide')[1];"
                           " const v = s && s.querySelector('video');"
                           " return v && v.readyState >= 3 && v.buffered.length > 0; }", timeout=30_000)
    before = page.evaluate("(() => { const v = document.querySelectorAll('.slide')[1].querySelector('video');"
                           " return {ready: v.readyState, buffered: v.buffered.end(0)}; })()")
    assert before["buffered"] >= 1.0, before
    _swipe_up(page)
    page.wait_for_function("() => document.querySelector('.feed').dataset.index === '1'", timeout=5_000)
    page.wait_for_function(f"() => {ACTIVE_VIDEO}.dataset.startMs !== undefined", timeout=10_000)
    start_ms = int(page.evaluate(f"{ACTIVE_VIDEO}.dataset.startMs"))
    print(f"next video: buffered {before['buffered']:.1f} s before the swipe; "
          f"first frame {start_ms} ms after it")
    assert page.evaluate("document.querySelector('.slide.active').dataset.videoId") != first

    # Leaving the first video reported its watch time.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            e["type"] == "view_ended" and e["video_id"] == first for e in page.events_posted):
        page.wait_for_timeout(100)
    ended = [e for e in page.events_posted if e["type"] == "view_ended" and e["video_id"] == first]
    assert ended and ended[0]["watch_ms"] > 0 and ended[0]["duration_ms"] > 0, page.events_posted
    assert any(e["type"] == "impression" for e in page.events_posted)

    # The next page was requested (with the cursor) before this one ran out; arrow keys move on.
    assert len(page.feed_requests) >= 2 and "cursor=" in page.feed_requests[1][0], page.feed_requests
    slides = page.evaluate("document.querySelectorAll('.slide').length")
    assert slides > 3
    for i in range(2, min(slides, 5)):
        page.keyboard.press("ArrowDown")
        page.wait_for_function(f"() => document.querySelector('.feed').dataset.index === '{i}'",
                               timeout=5_000)


def test_register_then_like_updates_the_count(phone: Any, demo: dict[str, Any]) -> None:
    page = phone
    page.goto(demo["base"] + "/#/account")
    page.fill("input[name=name]", "Web Tester")
    page.fill("input[name=region]", "GB")
    page.click("form.signup button[type=submit]")
    page.wait_for_function("() => location.hash === '#/' && document.querySelector('.slide.active video')",
                           timeout=30_000)
    _wait_playing(page, 0.1)
    session = json.loads(page.evaluate("localStorage.getItem('reel.session')"))
    assert not session["anonymous"]
    demo["state"]["user"] = session
    vid = page.evaluate("document.querySelector('.slide.active').dataset.videoId")
    like = page.locator(".slide.active button.like")
    before = int(like.locator(".count").inner_text())
    like.click()
    page.wait_for_function("() => document.querySelector('.slide.active button.like')"
                           ".getAttribute('aria-pressed') === 'true'", timeout=15_000)
    assert int(like.locator(".count").inner_text()) == before + 1
    stats = Api(demo["base"], _token(page)).get(f"/videos/{vid}").json()["stats"]
    assert stats["likes"] == before + 1

    # The comments sheet: post one, it is listed and counted.
    page.locator(".slide.active button[aria-label=comments]").click()
    page.fill(".sheet input[aria-label=comment]", "nice one from the browser")
    page.click(".sheet .comment-box button[type=submit]")
    page.wait_for_selector(".sheet .comments li:has-text('nice one from the browser')", timeout=15_000)
    page.click(".sheet button[aria-label=close]")


def test_upload_from_the_page_is_published_and_appears_in_the_feed(phone: Any, browser: Any,
                                                                   demo: dict[str, Any]) -> None:
    page = phone
    page.goto(demo["base"] + "/#/upload")
    page.set_input_files("input[type=file]", str(demo["clip"]))
    page.fill("textarea[name=description]", "uploaded from the browser #webtest")
    page.fill("input[name=hashtags]", "e2e")
    page.fill("input[name=sound]", "Browser Beat")
    page.click("form.upload button[type=submit]")
    page.wait_for_function("() => ['uploading','processing','uploaded','requested','transcoded','moderating',"
                           "'approved','published'].includes(document.querySelector('.status').dataset.status)",
                           timeout=30_000)
    assert page.evaluate("document.querySelector('progress.progress').value") >= 0  # the bar exists
    page.wait_for_function("() => ['published','rejected','failed','in_review']"
                           ".includes(document.querySelector('.status').dataset.status)", timeout=300_000)
    status = page.evaluate("document.querySelector('.status').dataset.status")
    text = page.inner_text(".status")
    assert status == "published", text
    assert page.evaluate("document.querySelector('progress.progress').value") == 1
    vid = page.evaluate("document.querySelector('form.upload').dataset.videoId")
    demo["state"]["uploaded"] = vid

    # A fresh viewer (another device) finds it in the For You feed within a few pages.
    ctx = browser.new_context(**PHONE)
    viewer = ctx.new_page()
    try:
        viewer.goto(demo["base"] + "/")
        _wait_playing(viewer, 0.1)
        found = False
        for _ in range(40):
            if viewer.locator(f".slide[data-video-id='{vid}']").count():
                found = True
                break
            viewer.keyboard.press("ArrowDown")
            viewer.wait_for_timeout(250)
        assert found, "the uploaded video did not appear in a fresh viewer's feed"
        while viewer.evaluate("document.querySelector('.slide.active').dataset.videoId") != vid:
            viewer.keyboard.press("ArrowDown")
            viewer.wait_for_timeout(150)
        _wait_playing(viewer, 0.5)
        viewer.keyboard.press("ArrowDown")  # leave it: a view_ended for the creator's analytics
        viewer.wait_for_timeout(500)
    finally:
        ctx.close()


def test_analytics_page_draws_its_charts(phone: Any, demo: dict[str, Any]) -> None:
    vid = demo["state"].get("uploaded")
    assert vid, "needs the upload test's video"
    viewer = Api(demo["base"]).register(name="Fan", region="BR", birth_year=2001)
    r = viewer.post("/events", json={"events": [
        {"type": "view_ended", "video_id": vid, "watch_ms": 2500, "duration_ms": 3000, "loops": 0}]})
    assert r.status_code == 202, r.text
    assert viewer.post(f"/videos/{vid}/like").status_code == 200
    page = phone
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(demo["base"] + "/#/analytics")
    page.wait_for_selector("svg.chart", timeout=30_000)
    charts = page.locator("figure.chart-box")
    assert charts.count() == 6
    titles = page.locator("figure.chart-box figcaption").all_inner_texts()
    assert titles[0] == "Views per day"
    # Views and the audience split were drawn with non-zero bars (the two views above at least).
    deadline = time.monotonic() + 30
    while True:
        views = page.evaluate("[...document.querySelectorAll('svg.chart.bars')[0]"
                              ".querySelectorAll('rect.bar')].map(r => Number(r.dataset.value))")
        regions = page.locator("svg.chart.split").first.locator("rect.bar").count()
        if (sum(views) >= 2 and regions >= 1) or time.monotonic() > deadline:
            break
        page.reload()
        page.wait_for_selector("svg.chart", timeout=30_000)
    assert sum(views) >= 2, views
    assert regions >= 1
    assert page.locator("svg.chart.lines polyline.line").count() >= 4

    # The fan's like is a notification: the unread badge shows it; the inbox lists it and clears the badge.
    page.wait_for_function("() => { const b = document.querySelector('.badge');"
                           " return b && !b.hidden && Number(b.textContent) >= 1; }", timeout=30_000)
    page.goto(demo["base"] + "/#/notifications")
    page.wait_for_selector(".inbox li:has-text('Fan')", timeout=15_000)
    page.wait_for_function("() => document.querySelector('.badge').hidden", timeout=15_000)
    page.set_viewport_size(PHONE["viewport"])


def test_demo_creator_analytics_on_a_desktop(browser: Any, demo: dict[str, Any]) -> None:
    """A seeded creator (signed in with a token, as `reel users create` prints) sees the demo audience."""
    anon = Api(demo["base"], Api(demo["base"]).post("/auth/anonymous", json={}).json()["token"])
    cards = anon.get("/trending", params={"limit": 50}).json()["videos"]
    assert cards, "the demo viewers should have made something trend"
    creator = cards[0]["creator"]["id"]
    token = sign_token(Principal(user_id=creator, expires_at=now_us() + 3600 * 10**6), demo["secret"])
    ctx = browser.new_context(**DESKTOP)
    page = ctx.new_page()
    try:
        page.goto(demo["base"] + "/#/account")
        page.fill("form.token input", token)
        page.click("form.token button[type=submit]")
        page.wait_for_function("() => location.hash === '#/'")
        page.goto(demo["base"] + "/#/analytics")
        page.wait_for_selector("svg.chart", timeout=30_000)
        assert page.locator(f".analytics[data-creator='{creator}']").count() == 1
        views = page.evaluate("[...document.querySelectorAll('svg.chart.bars')[0]"
                              ".querySelectorAll('rect.bar')].map(r => Number(r.dataset.value))")
        assert sum(views) > 0, views
        assert page.locator("svg.chart.split").nth(1).locator("rect.bar").count() >= 1  # age bands
        _shot(page, "analytics.png")
    finally:
        ctx.close()


def test_moderator_approves_a_held_video(browser: Any, demo: dict[str, Any]) -> None:
    held = demo["held"]
    mod = Api(demo["base"]).register(name="Mia Moderator")
    token = sign_token(Principal(user_id=str(mod.user_id), role="moderator",
                                 expires_at=now_us() + 3600 * 10**6), demo["secret"])
    ctx = browser.new_context(**DESKTOP)
    page = ctx.new_page()
    try:
        page.goto(demo["base"] + "/#/account")
        page.fill("form.token input", token)
        page.click("form.token button[type=submit]")
        page.wait_for_selector(f".mod-item[data-video-id='{held}']", timeout=30_000)
        item = page.locator(f".mod-item[data-video-id='{held}']")
        assert "example.com" in item.locator(".cap").inner_text()
        assert item.locator(".frames img").count() >= 1
        page.wait_for_function(
            f"() => [...document.querySelectorAll(\".mod-item[data-video-id='{held}'] .frames img\")]"
            ".every(i => i.complete && i.naturalWidth > 0)", timeout=15_000)
        spam = item.locator(".score", has_text="spam")
        assert float(spam.locator(".sv").inner_text()) >= 0.7
        _shot(page, "moderation.png")
        item.locator("input[aria-label='decision reason']").fill("links are to a harmless site")
        item.locator("button", has_text="Approve").click()
        toast = page.wait_for_selector(".toast", timeout=30_000)
        assert toast is not None and toast.inner_text() == "Approved", toast and toast.inner_text()
        page.wait_for_function(f"() => !document.querySelector(\".mod-item[data-video-id='{held}']\")",
                               timeout=30_000)
    finally:
        ctx.close()
    moderator = Api(demo["base"], token)
    card = wait_status(moderator, held, {"published", "rejected"}, timeout_s=120)
    assert card["status"] == "published", card



def test_screenshots_stay_out_of_the_checkout_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.delenv("REEL_SCREENSHOTS_DIR", raising=False)
    default = screenshots_dir.__wrapped__()
    assert repo not in default.parents and default == screenshots_dir.__wrapped__()  # the same folder each run
    monkeypatch.setenv("REEL_SCREENSHOTS_DIR", "docs/screenshots")
    assert screenshots_dir.__wrapped__() == repo / "docs" / "screenshots"
