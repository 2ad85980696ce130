"""A guest and a receptionist in two real browsers, against the real app (daphne, websockets, eager Celery).

guest writes in the web chat ⇒ the bot answers ⇒ the guest asks for a person ⇒ the conversation appears in the
staff queue without a reload ⇒ staff claims and replies (a double click sends once) ⇒ the guest sees the reply
live ⇒ staff releases ⇒ the bot answers again. A screenshot of every step goes to ``test-artifacts/e2e/``.

"Without a reload" is proven with a marker set on ``window`` before the wait: a reload would wipe it.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import LiveApp

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(180)]

EXPECT_TIMEOUT = 10_000  # ms, per assertion
# The server loads the NLU model on its first message, and with eager Celery the guest's POST returns only once the
# bot has answered: the first exchange alone gets more time (it has taken >10 s on a loaded 2-CPU machine).
FIRST_ANSWER_TIMEOUT = 30_000
STAFF_REPLY = "Hola, soy Marta de recepción, ¿en qué te ayudo?"
NO_RELOAD_MARK = "window.__e2eNoReload = true"
WAS_NOT_RELOADED = "window.__e2eNoReload === true"


def test_guest_bot_staff_handoff_and_back(live_app: LiveApp, browser_context_factory, artifacts):
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT)
    errors: list[str] = []
    pages: dict[str, object] = {}
    try:
        _flow(live_app, browser_context_factory, artifacts, errors, pages)
    except BaseException:
        # What the browsers and the server looked like when it failed (pytest shows captured output on failure).
        for who, page in pages.items():
            try:
                page.screenshot(path=str(artifacts / f"failed-{who}.png"), full_page=True)
            except Exception as exc:
                print(f"no screenshot of {who}: {exc}")
        print(f"page errors: {errors}\n--- server log (tail) ---\n{live_app.log_tail()}")
        raise
    assert not errors, f"uncaught page errors: {errors}"


def _flow(live_app: LiveApp, browser_context_factory, artifacts, errors: list[str], pages: dict) -> None:
    from playwright.sync_api import expect

    def shot(page, name: str) -> None:
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

    def watch(page, who: str) -> None:
        page.on("pageerror", lambda exc: errors.append(f"{who}: {exc}"))
        page.on("console", lambda msg: print(f"[{who} console.{msg.type}] {msg.text}") if msg.type == "error" else None)

    # --- the guest opens the hotel's chat page ---------------------------------------------------------------
    guest = browser_context_factory().new_page()
    watch(guest, "guest")
    pages["guest"] = guest
    guest.goto(live_app.url("/chat/demo/"))
    guest_bot = guest.locator("li.hwc-message.hwc-from-bot")
    guest_staff = guest.locator("li.hwc-message.hwc-from-staff")
    guest_input = guest.locator("[data-hwc-input]")

    def guest_says(text: str, timeout: int = EXPECT_TIMEOUT) -> None:
        guest_input.fill(text)
        guest.locator("[data-hwc-send]").click()
        expect(guest.locator("li.hwc-message.hwc-from-guest").filter(has_text=text)).to_have_count(1, timeout=timeout)

    # 1. the guest asks about parking ⇒ the bot answers.
    guest_says("Hola, ¿tenéis parking?", timeout=FIRST_ANSWER_TIMEOUT)
    expect(guest_bot).to_have_count(1, timeout=FIRST_ANSWER_TIMEOUT)
    expect(guest_bot.first).to_contain_text(re.compile(r"garaje|parking", re.IGNORECASE))
    shot(guest, "01-guest-bot-answers-parking")

    # --- staff signs in and watches the (empty) queue --------------------------------------------------------
    staff_context = browser_context_factory()
    staff = staff_context.new_page()
    watch(staff, "staff")
    pages["staff"] = staff
    staff.goto(live_app.url("/accounts/login/"))
    staff.get_by_test_id("login-username").fill(live_app.username)
    staff.get_by_test_id("login-password").fill(live_app.password)
    staff.get_by_test_id("login-submit").click()
    staff.wait_for_url(re.compile(r"/console/$"))
    expect(staff.get_by_test_id("active-hotel")).to_have_text("Hotel Demo Sol y Mar")
    expect(staff.get_by_test_id("queue-empty")).to_be_visible()
    expect(staff.get_by_test_id("queue-row")).to_have_count(0)
    expect(staff.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    staff.evaluate(NO_RELOAD_MARK)
    shot(staff, "02-staff-queue-empty-and-live")

    # 2. the guest asks for a person ⇒ the bot hands over to reception.
    guest_says("quiero hablar con una persona")
    expect(guest_bot).to_have_count(2)
    expect(guest_bot.nth(1)).to_contain_text("recepción")
    shot(guest, "03-guest-asks-for-a-person")

    # 3. …and the conversation appears in the open queue, live.
    row = staff.get_by_test_id("queue-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("queue-reason")).to_have_text("Pidió hablar con una persona")
    expect(staff.get_by_test_id("queue-empty")).to_be_hidden()
    assert staff.evaluate(WAS_NOT_RELOADED), "the staff queue page was reloaded"
    conversation_id = row.get_attribute("data-conversation")
    assert conversation_id
    shot(staff, "04-staff-queue-shows-escalation-live")

    # 4. staff opens it, claims it, and sends a reply with a double click on Send.
    row.get_by_test_id("queue-open").click()
    staff.wait_for_url(re.compile(rf"/console/c/{conversation_id}/$"))
    expect(staff.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    expect(staff.get_by_test_id("conversation-status")).to_have_attribute("data-status", "pending_human")
    staff_messages = staff.get_by_test_id("messages").get_by_test_id("message")
    expect(staff_messages.and_(staff.locator('[data-sender="guest"]'))).to_have_count(2)
    # The guest's browser token is its credential: staff see a short digest of it, never the token.
    token = guest.evaluate("() => (Object.entries(localStorage).find(([k]) => k.endsWith(':token')) || [])[1]")
    assert token, "the chat page kept no guest token"
    expect(staff.locator("#guest-address")).to_have_text(re.compile(r"^wc_[A-Za-z0-9_-]{8}…$"))
    assert token not in staff.content()
    staff.get_by_test_id("claim-button").click()
    expect(staff.get_by_test_id("conversation-status")).to_have_attribute("data-status", "human")
    expect(staff.get_by_test_id("reply-input")).to_be_enabled()
    shot(staff, "05-staff-claimed")

    staff.get_by_test_id("reply-input").fill(STAFF_REPLY)
    staff.get_by_test_id("reply-send").dblclick()
    staff_sent = staff_messages.and_(staff.locator('[data-sender="staff"]'))
    expect(staff_sent).to_have_count(1)
    expect(staff_sent).to_contain_text(STAFF_REPLY)
    expect(staff.get_by_test_id("reply-input")).to_have_value("")
    shot(staff, "06-staff-replied")

    # 5. the guest sees the staff reply without reloading.
    guest.evaluate(NO_RELOAD_MARK)
    expect(guest_staff).to_have_count(1)
    expect(guest_staff).to_contain_text(STAFF_REPLY)
    assert guest.evaluate(WAS_NOT_RELOADED), "the guest chat page was reloaded"
    shot(guest, "07-guest-sees-staff-reply")

    # The double click stored exactly one staff message (the server's word, not just the page's).
    assert _staff_texts(staff_context, live_app, conversation_id) == [STAFF_REPLY]

    # 6. staff hands the conversation back to the bot.
    staff.get_by_test_id("release-button").click()
    expect(staff.get_by_test_id("conversation-status")).to_have_attribute("data-status", "bot")
    expect(staff.get_by_test_id("reply-input")).to_be_disabled()
    shot(staff, "08-staff-released-to-bot")

    # 7. the guest asks about breakfast ⇒ the bot (not staff) answers again, and staff watch it live.
    guest_says("¿a qué hora es el desayuno?")
    expect(guest_bot).to_have_count(3)
    expect(guest_bot.nth(2)).to_contain_text("desayuno")
    expect(guest_staff).to_have_count(1)
    assert guest.evaluate(WAS_NOT_RELOADED), "the guest chat page was reloaded"
    shot(guest, "09-guest-bot-answers-again")
    staff_bot = staff_messages.and_(staff.locator('[data-sender="bot"]'))
    expect(staff_bot.last).to_contain_text("desayuno")
    expect(staff_sent).to_have_count(1)
    shot(staff, "10-staff-sees-bot-answer-live")

    assert _staff_texts(staff_context, live_app, conversation_id) == [STAFF_REPLY]


def _staff_texts(context, live_app: LiveApp, conversation_id: str) -> list[str]:
    """The conversation's staff messages as the console API stores them (with the staff session's cookies)."""
    texts: list[str] = []
    after = 0
    while True:
        response = context.request.get(
            live_app.url(f"/api/console/conversations/{conversation_id}/messages/?after={after}")
        )
        assert response.ok, f"{response.status} {response.text()[:500]}\n{live_app.log_tail()}"
        data = response.json()
        texts += [m["text"] for m in data["results"] if m["sender"] == "staff" and not m.get("is_internal")]
        if not data.get("has_more") or not data["results"]:
            return texts
        after = data["results"][-1]["id"]


def test_guest_who_sends_before_the_chat_script_is_ready_loses_nothing(live_app: LiveApp, browser_context_factory):
    """The chat page's form is in the HTML and its script loads async: on a slow network a guest can type and press
    Send before the script has bound the form. Send stays disabled until then (a native submit would reload the
    page and lose the text), and what was typed meanwhile is sent once the script is ready."""
    from playwright.sync_api import expect

    held: list = []
    page = browser_context_factory().new_page()
    page.route(re.compile(r"/webchat/widget\.js"), lambda route: held.append(route))
    page.goto(live_app.url("/chat/demo/"), wait_until="domcontentloaded")
    page.evaluate(NO_RELOAD_MARK)
    text = "¿Tenéis parking para coches?"
    page.locator("[data-hwc-input]").fill(text)
    send = page.locator("[data-hwc-send]")
    expect(send).to_be_disabled()
    send.click(force=True)  # a guest pressing it anyway: nothing may happen yet
    page.keyboard.press("Enter")
    expect(page.locator("[data-hwc-input]")).to_have_value(text)
    assert page.evaluate(WAS_NOT_RELOADED), "pressing Send before the script was ready reloaded the page"

    for _ in range(100):  # the route handler runs while Playwright is waiting on something
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the widget script was never requested"
    held[0].continue_()
    send.click()  # waits until the script has enabled it
    mine = page.locator("li.hwc-message.hwc-from-guest").filter(has_text=text)
    expect(mine).to_have_count(1, timeout=FIRST_ANSWER_TIMEOUT)
    bot = page.locator("li.hwc-message.hwc-from-bot")
    expect(bot).to_have_count(1, timeout=FIRST_ANSWER_TIMEOUT)
    expect(bot.first).to_contain_text(re.compile(r"garaje|parking", re.IGNORECASE))
    assert page.evaluate(WAS_NOT_RELOADED)


def test_staff_who_press_send_before_the_console_script_is_ready_lose_nothing(
    live_app: LiveApp, browser_context_factory
):
    """The same race in the console: before console.js has bound the reply and note forms, their buttons are
    disabled, so an early press cannot submit natively (text in the URL, page reloaded without it)."""
    from playwright.sync_api import expect

    guest = browser_context_factory().new_page()  # a conversation of this test's own
    guest.goto(live_app.url("/chat/demo/"))
    guest.locator("[data-hwc-input]").fill("Hola, ¿tenéis parking?")
    guest.locator("[data-hwc-send]").click()
    expect(guest.locator("li.hwc-message.hwc-from-bot")).to_have_count(1, timeout=FIRST_ANSWER_TIMEOUT)

    context = browser_context_factory()
    page = context.new_page()
    page.goto(live_app.url("/accounts/login/"))
    page.get_by_test_id("login-username").fill(live_app.username)
    page.get_by_test_id("login-password").fill(live_app.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(re.compile(r"/console/$"))
    listing = context.request.get(live_app.url("/api/console/conversations/"))
    assert listing.ok, listing.text()[:500]
    conversations = listing.json()["results"]
    assert conversations, listing.text()[:500]
    conversation_id = conversations[0]["id"]  # the newest first

    held: list = []
    page.route(re.compile(r"/static/console/console\.js"), lambda route: held.append(route))
    # A module script is deferred: DOMContentLoaded waits for it, so wait for the response and then for the form.
    page.goto(live_app.url(f"/console/c/{conversation_id}/"), wait_until="commit")
    expect(page.get_by_test_id("note-input")).to_be_visible()
    page.evaluate(NO_RELOAD_MARK)
    note = "Llamó por teléfono: llega tarde"
    page.get_by_test_id("note-input").fill(note)
    for testid in ("reply-send", "note-send", "reply-input"):
        expect(page.get_by_test_id(testid)).to_be_disabled()
    page.get_by_test_id("note-send").click(force=True)
    assert page.evaluate(WAS_NOT_RELOADED), "pressing Add note before console.js was ready reloaded the page"
    assert "text=" not in page.url
    expect(page.get_by_test_id("note-input")).to_have_value(note)

    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "console.js was never requested"
    held[0].continue_()
    page.get_by_test_id("note-send").click()  # waits until console.js has enabled it
    notes = page.get_by_test_id("messages").locator('[data-internal="true"]')
    expect(notes.filter(has_text=note)).to_have_count(1)
    assert page.evaluate(WAS_NOT_RELOADED)
