"""Staff login and logout (``/accounts/``): Django's views with our templates and the lockout message.

The lockout itself is enforced by ``tenants.auth.LockoutModelBackend`` for every login; the forms here only
replace Django's "wrong username or password" with "locked, try later" when the backend refused the attempt.
"""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.urls import path

from tenants.auth import lockout_message


class _LockoutMessageMixin:
    def get_invalid_login_error(self) -> ValidationError:
        if getattr(self.request, "auth_lockout", False):  # type: ignore[attr-defined]
            return ValidationError(lockout_message(), code="locked_out")
        return super().get_invalid_login_error()  # type: ignore[misc]


class StaffAuthenticationForm(_LockoutMessageMixin, AuthenticationForm):
    pass


class StaffAdminAuthenticationForm(_LockoutMessageMixin, AdminAuthenticationForm):
    """``admin.site.login_form`` (set in ``tenants/admin.py``)."""


class StaffLoginView(auth_views.LoginView):
    authentication_form = StaffAuthenticationForm
    template_name = "registration/login.html"


urlpatterns = [
    path("login/", StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
