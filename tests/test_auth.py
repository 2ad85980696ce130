"""Staff authentication: password policy, login lockout, login/logout pages, the hotel picked on login."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY, authenticate
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from tenants import auth as tenant_auth
from tenants.auth import (
    ComplexityValidator,
    PasswordHistoryValidator,
    client_ip,
    lockout_active,
    lockout_attempt_begin,
    password_history_record,
)
from tenants.models import PasswordHistory
from tenants.selectors import ACTIVE_TENANT_SESSION_KEY
from tests.factories import StaffMembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-Battery-9"
LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    """The policy is about which hashes are compared, not how slow they are to compute."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch):
    """The lockout's clock, moved by hand (the cache keeps its entries; the lockout reads their timestamps)."""

    class Clock:
        now = 1_800_000_000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(tenant_auth, "_now", lambda: fake.now)
    return fake


def make_user(username: str = "ana", password: str = PASSWORD, **extra):
    user = UserFactory(username=username, **extra)
    user.set_password(password)
    user.save()
    return user


def post_login(client, username: str, password: str, *, url: str = LOGIN_URL, ip: str = "203.0.113.7"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


def failures_metric(reason: str) -> float:
    return REGISTRY.get_sample_value("auth_login_failures_total", {"reason": reason}) or 0.0


def error_codes(excinfo: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {error.code for error in excinfo.value.error_list}


# --- complexity ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("CORRECT-HORSE-BATTERY-9", "password_no_lower"),
        ("correct-horse-battery-9", "password_no_upper"),
        ("Correct-Horse-Battery-X", "password_no_digit"),
        ("CorrectHorseBattery9x", "password_no_symbol"),
    ],
)
def test_complexity_requires_each_character_class(password, missing):
    with pytest.raises(ValidationError) as excinfo:
        ComplexityValidator().validate(password)

    assert error_codes(excinfo) == {missing}


def test_complexity_lists_every_missing_class_in_the_users_language():
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        ComplexityValidator().validate("abcdefghijkl")

    assert error_codes(excinfo) == {"password_no_upper", "password_no_digit", "password_no_symbol"}
    assert "The password must contain at least one digit." in excinfo.value.messages
    with translation.override("es"), pytest.raises(ValidationError) as in_spanish:
        ComplexityValidator().validate("abcdefghijkl")
    assert "La contraseña debe contener al menos un dígito." in in_spanish.value.messages


@pytest.mark.parametrize("password", [PASSWORD, "ñandú Pingüino 7", "Zz9!zzzzzzzz"])
def test_complexity_accepts_passwords_with_every_class(password):
    ComplexityValidator().validate(password)


def test_settings_policy_needs_twelve_characters_and_complexity():
    with pytest.raises(ValidationError) as short:
        validate_password("Sh0rt-Pass!")
    with pytest.raises(ValidationError) as simple:
        validate_password("correcthorsebatterystaple")

    validate_password(PASSWORD)
    assert "password_too_short" in error_codes(short)
    assert {"password_no_upper", "password_no_digit", "password_no_symbol"} <= error_codes(simple)


# --- history -------------------------------------------------------------------------------------------------
def change_password(user, password: str) -> None:
    """The forms' flow: validate against the user, then set and save (Django calls ``password_changed``)."""
    validate_password(password, user)
    user.set_password(password)
    user.save()


HISTORY = [f"Hotel-Password-{n}!" for n in range(6)]  # oldest first


@pytest.fixture
def user_with_six_passwords():
    user = make_user(password=HISTORY[0])
    for password in HISTORY[1:]:
        change_password(user, password)
    return user


@pytest.mark.parametrize("password", HISTORY[1:], ids=[f"last-{n}" for n in range(5, 0, -1)])
def test_none_of_the_last_five_passwords_can_be_reused(user_with_six_passwords, password):
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password, user_with_six_passwords)

    assert error_codes(excinfo) == {"password_reused"}


def test_the_sixth_password_back_can_be_used_again(user_with_six_passwords):
    change_password(user_with_six_passwords, HISTORY[0])

    user_with_six_passwords.refresh_from_db()
    assert user_with_six_passwords.check_password(HISTORY[0])


def test_history_keeps_only_the_last_five_hashes_and_never_the_password(user_with_six_passwords):
    rows = list(PasswordHistory.objects.filter(user=user_with_six_passwords))

    assert len(rows) == 5
    assert rows[0].password == user_with_six_passwords.password
    assert not any(password in row.password for row in rows for password in HISTORY)


def test_password_set_before_the_history_existed_counts_as_the_last_one():
    # given: a password written straight to the table (no ``password_changed``)
    user = make_user()
    PasswordHistory.objects.filter(user=user).delete()

    # then
    with pytest.raises(ValidationError) as excinfo:
        validate_password(PASSWORD, user)
    assert error_codes(excinfo) == {"password_reused"}


def test_recording_twice_keeps_one_row():
    user = make_user()

    password_history_record(user=user)
    password_history_record(user=user)

    assert PasswordHistory.objects.filter(user=user).count() == 1


def test_new_users_have_no_history_to_check():
    PasswordHistoryValidator().validate(PASSWORD, UserFactory.build())


def test_set_password_form_refuses_reuse_and_records_the_new_password():
    # given
    user = make_user()

    # when
    reused = SetPasswordForm(user, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    fresh = SetPasswordForm(user, {"new_password1": "Brand-New-Pass-42", "new_password2": "Brand-New-Pass-42"})

    # then
    assert not reused.is_valid()
    assert "password_reused" in {e.code for e in reused.errors.as_data()["new_password2"]}
    assert fresh.is_valid(), fresh.errors
    fresh.save()
    assert PasswordHistory.objects.filter(user=user).count() == 2
    assert PasswordHistory.objects.filter(user=user).first().password == user.password


def test_history_help_text_names_the_count():
    with translation.override("en"):
        assert PasswordHistoryValidator(history=5).get_help_text() == (
            "Your password cannot be any of your last 5 passwords."
        )


# --- lockout ---------------------------------------------------------------------------------------------------
def fail(client, username: str, times: int, **kwargs) -> None:
    for _ in range(times):
        response = post_login(client, username, "Wrong-Password-1!", **kwargs)
        assert response.status_code == 200  # the form again, with an error


def test_five_failures_lock_the_username_even_with_the_right_password(client, clock):
    # given
    make_user("ana")
    locked_before = failures_metric("locked_user")
    fail(client, "ana", 5)

    # when
    response = post_login(client, "ana", PASSWORD)

    # then
    assert response.status_code == 200
    assert not logged_in(client)
    assert "Too many failed login attempts. Try again in 15 minutes." in response.content.decode()
    assert failures_metric("locked_user") == locked_before + 1


def test_four_failures_do_not_lock(client, clock):
    make_user("ana")
    fail(client, "ana", 4)

    response = post_login(client, "ana", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_lock_ignores_the_usernames_case(client, clock):
    make_user("ana")
    fail(client, "ANA", 3)
    fail(client, "Ana", 2)

    post_login(client, "ana", PASSWORD)

    assert not logged_in(client)


def test_a_locked_username_does_not_lock_other_users(client, clock):
    make_user("ana")
    make_user("bruno")
    fail(client, "ana", 5)

    response = post_login(client, "bruno", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_lock_is_refused_without_checking_the_password(client, clock, monkeypatch):
    # given
    make_user("ana")
    fail(client, "ana", 5)
    checked = []
    monkeypatch.setattr("django.contrib.auth.backends.ModelBackend.authenticate", lambda *a, **k: checked.append(1))

    # when
    post_login(client, "ana", PASSWORD)

    # then
    assert checked == []


def test_the_lock_expires(client, clock, settings):
    make_user("ana")
    fail(client, "ana", 5)
    clock.advance(settings.AUTH_LOCKOUT_SECONDS - 1)
    post_login(client, "ana", PASSWORD)
    assert not logged_in(client)

    clock.advance(2)
    response = post_login(client, "ana", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_failures_older_than_the_window_are_forgotten(client, clock, settings):
    make_user("ana")
    fail(client, "ana", 4)
    clock.advance(2 * settings.AUTH_LOCKOUT_WINDOW_SECONDS)
    fail(client, "ana", 4)

    post_login(client, "ana", PASSWORD)

    assert logged_in(client)


def test_failures_across_a_window_boundary_still_count(client, clock, settings):
    # given: 3 failures just before a bucket boundary and 2 just after, a few seconds apart
    make_user("ana")
    window = settings.AUTH_LOCKOUT_WINDOW_SECONDS
    clock.now = (clock.now // window + 1) * window - 5
    fail(client, "ana", 3)
    clock.advance(10)
    fail(client, "ana", 2)

    # when
    post_login(client, "ana", PASSWORD)

    # then
    assert not logged_in(client)


def test_a_successful_login_resets_the_usernames_failures(client, clock):
    make_user("ana")
    fail(client, "ana", 4)
    post_login(client, "ana", PASSWORD)
    client.logout()
    fail(client, "ana", 4)

    post_login(client, "ana", PASSWORD)

    assert logged_in(client)


def test_twenty_failures_from_one_address_lock_it_for_every_username(client, clock):
    # given: 20 different usernames, 1 failure each, from one address
    make_user("ana")
    for n in range(20):
        post_login(client, f"guess{n}", "Wrong-Password-1!", ip="198.51.100.9")
    locked_before = failures_metric("locked_ip")

    # when
    from_locked = post_login(client, "ana", PASSWORD, ip="198.51.100.9")
    assert not logged_in(client)
    from_elsewhere = post_login(client, "ana", PASSWORD, ip="198.51.100.10")

    # then
    assert "Too many failed login attempts" in from_locked.content.decode()
    assert failures_metric("locked_ip") == locked_before + 1
    assert from_elsewhere.status_code == 302
    assert logged_in(client)


def test_parallel_attempts_get_no_more_guesses_than_the_limit(client, clock, monkeypatch):
    # given: five attempts for "ana" still checking their passwords (counted, not finished)
    make_user("ana")
    for _ in range(5):
        lockout_attempt_begin(username="ana", ip="203.0.113.7")
    checked = []
    monkeypatch.setattr("django.contrib.auth.backends.ModelBackend.authenticate", lambda *a, **k: checked.append(1))

    # when
    response = post_login(client, "ana", PASSWORD)

    # then
    assert checked == []
    assert "Too many failed login attempts" in response.content.decode()
    assert lockout_active(username="ana", ip=None) == "user"


def test_successful_logins_do_not_use_up_the_addresss_limit(client, clock):
    make_user("ana")
    for _ in range(25):
        post_login(client, "ana", PASSWORD, ip="198.51.100.9")
        assert logged_in(client)
        client.logout()

    post_login(client, "ana", PASSWORD, ip="198.51.100.9")

    assert logged_in(client)


def test_the_admin_login_is_locked_too(client, clock):
    # given
    make_user("ana", is_staff=True)
    fail(client, "ana", 5, url=ADMIN_LOGIN_URL)

    # when
    response = post_login(client, "ana", PASSWORD, url=ADMIN_LOGIN_URL)

    # then
    assert response.status_code == 200
    assert not logged_in(client)
    assert "Too many failed login attempts" in response.content.decode()


def test_failures_on_one_login_page_count_on_the_other(client, clock):
    make_user("ana", is_staff=True)
    fail(client, "ana", 3, url=ADMIN_LOGIN_URL)
    fail(client, "ana", 2, url=LOGIN_URL)

    post_login(client, "ana", PASSWORD, url=ADMIN_LOGIN_URL)

    assert not logged_in(client)


def test_authenticate_without_a_request_counts_by_username(clock):
    make_user("ana")
    for _ in range(5):
        assert authenticate(username="ana", password="Wrong-Password-1!") is None

    assert authenticate(username="ana", password=PASSWORD) is None
    assert lockout_active(username="ana", ip=None) == "user"


def test_attempts_are_logged_without_the_password(client, clock):
    make_user("ana")
    with capture_logs() as logs:
        fail(client, "ana", 5)
        post_login(client, "ana", PASSWORD)

    events = [entry["event"] for entry in logs if entry["event"].startswith("auth.")]
    assert events == ["auth.login_failed"] * 5 + ["auth.lockout_started", "auth.login_refused_locked"]
    assert "Wrong-Password-1!" not in repr(logs)
    assert PASSWORD not in repr(logs)


def test_client_ip_trusts_only_the_configured_proxies(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")

    assert client_ip(request) == "10.0.0.2"
    assert client_ip(request, trusted_proxies=1) == "203.0.113.7"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2"), trusted_proxies=1) == "10.0.0.2"


# --- pages ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "title", "password_label"),
    [("es", "Acceso del personal", "Contraseña"), ("en", "Staff sign in", "Password")],
)
def test_login_page_renders_in_the_browsers_language(client, language, title, password_label):
    response = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE=language)

    body = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in body
    assert f"<h1>{title}</h1>" in body
    assert password_label in body
    assert 'autocomplete="current-password"' in body
    assert "csrfmiddlewaretoken" in body
    assert "http://" not in body and "https://" not in body  # no CDN


def test_the_lockout_message_is_translated(client, clock):
    make_user("ana")
    fail(client, "ana", 5)

    response = client.post(
        LOGIN_URL, {"username": "ana", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="es"
    )

    assert "Demasiados intentos fallidos de inicio de sesión. Vuelve a intentarlo dentro de 15 minutos." in (
        response.content.decode()
    )


def test_login_page_explains_a_wrong_password(client):
    make_user("ana")

    response = post_login(client, "ana", "Wrong-Password-1!")

    assert 'role="alert"' in response.content.decode()
    assert not logged_in(client)


def test_login_selects_the_only_hotel_and_goes_to_the_console(client):
    # given
    membership = StaffMembershipFactory(user=make_user("ana"))

    # when
    response = post_login(client, "ana", PASSWORD)

    # then
    assert response.status_code == 302
    assert response.url == reverse("console-queue")
    assert client.session[ACTIVE_TENANT_SESSION_KEY] == membership.tenant_id


def test_login_with_several_hotels_leaves_the_choice_to_the_staff_member(client):
    user = make_user("ana")
    StaffMembershipFactory(user=user)
    StaffMembershipFactory(user=user)

    post_login(client, "ana", PASSWORD)

    assert logged_in(client)
    assert ACTIVE_TENANT_SESSION_KEY not in client.session


def test_login_ignores_inactive_hotels_when_selecting(client):
    user = make_user("ana")
    StaffMembershipFactory(user=user, tenant=TenantFactory(is_active=False))
    active = StaffMembershipFactory(user=user)

    post_login(client, "ana", PASSWORD)

    assert client.session[ACTIVE_TENANT_SESSION_KEY] == active.tenant_id


def test_login_follows_a_safe_next_only(client):
    make_user("ana")
    make_user("bruno")

    safe = client.post(LOGIN_URL, {"username": "ana", "password": PASSWORD, "next": "/console/conversations/"})
    client.logout()
    unsafe = client.post(LOGIN_URL, {"username": "bruno", "password": PASSWORD, "next": "https://evil.example/"})

    assert safe.url == "/console/conversations/"
    assert unsafe.url == reverse("console-queue")


def test_logout_is_a_post_and_returns_to_the_login_page(client):
    make_user("ana")
    post_login(client, "ana", PASSWORD)

    get = client.get("/accounts/logout/")
    assert logged_in(client)
    response = client.post("/accounts/logout/")

    assert get.status_code == 405
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert not logged_in(client)


def test_console_pages_send_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("console-queue"))

    assert response.status_code == 302
    assert response.url.startswith(f"{LOGIN_URL}?next=")
