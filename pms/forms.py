"""Admin forms. The PMS api key is write-only: no widget ever renders the stored value."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from pms.models import PMSConfig


def https_formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Model field → form field, URLs assumed https when typed without a scheme."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class PMSConfigAdminForm(forms.ModelForm):
    """Everything but the raw ``api_key``: a password input that never shows the stored key (blank keeps it) and a
    "clear" checkbox."""

    new_api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave blank to keep the current value."),
    )
    clear_api_key = forms.BooleanField(label=_("clear"), required=False)

    class Meta:
        model = PMSConfig
        formfield_callback = https_formfield
        # An allow-list: the raw ``api_key`` is never a form field.
        fields = [
            "tenant",
            "kind",
            "base_url",
            "hotel_id",
            "currency",
            "connect_timeout_seconds",
            "read_timeout_seconds",
            "room_types_cache_ttl",
            "availability_cache_ttl",
            "stale_cache_ttl",
            "breaker_fail_max",
            "breaker_reset_timeout",
            "max_retries",
            "check_in_time",
            "check_out_time",
            "late_checkout_until",
            "late_checkout_fee",
            "early_checkin_from",
            "early_checkin_fee",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("new_api_key") and cleaned.get("clear_api_key"):
            self.add_error("new_api_key", _("Either enter a new value or clear it, not both."))
        return cleaned

    def save(self, commit: bool = True) -> PMSConfig:
        config = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            config.api_key = ""
        elif self.cleaned_data.get("new_api_key"):
            config.api_key = self.cleaned_data["new_api_key"]
        if commit:
            config.save()
            self._save_m2m()
        return config
