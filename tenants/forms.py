"""Admin forms. Channel credentials are write-only: no widget ever renders a stored value."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.models import CHANNEL_CREDENTIAL_KEYS, ChannelAccount
from tenants.services import channel_account_credentials_merge

# Every key any channel takes, in declaration order (the add form does not know the channel yet).
ALL_CREDENTIAL_KEYS: tuple[str, ...] = tuple(
    dict.fromkeys(k for keys in CHANNEL_CREDENTIAL_KEYS.values() for k in keys)
)


def credential_field_name(key: str) -> str:
    return f"credential_{key}"


def credential_clear_field_name(key: str) -> str:
    return f"clear_credential_{key}"


def credential_keys_for(account: ChannelAccount | None) -> tuple[str, ...]:
    """The keys an account's form offers: its channel's keys plus any other key it already stores (so it can be
    cleared); every known key when adding."""
    if account is None or account.pk is None:
        return ALL_CREDENTIAL_KEYS
    keys = tuple(CHANNEL_CREDENTIAL_KEYS.get(account.channel, ()))
    stored = tuple(k for k in sorted(account.credentials or {}) if k not in keys and k in ALL_CREDENTIAL_KEYS)
    return keys + stored


def _credential_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for key in ALL_CREDENTIAL_KEYS:
        fields[credential_field_name(key)] = forms.CharField(
            label=key,
            required=False,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=_("Leave blank to keep the current value."),
        )
        fields[credential_clear_field_name(key)] = forms.BooleanField(label=_("clear"), required=False)
    return fields


class _ChannelAccountAdminFormBase(forms.ModelForm):
    class Meta:
        model = ChannelAccount
        # An allow-list: the raw ``credentials`` JSON is never a form field.
        fields = ["tenant", "channel", "external_id", "display_name", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credential_keys = credential_keys_for(self.instance)
        for key in set(ALL_CREDENTIAL_KEYS) - set(self.credential_keys):
            del self.fields[credential_field_name(key)]
            del self.fields[credential_clear_field_name(key)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        channel = cleaned.get("channel", self.instance.channel)  # read-only (absent) once the account exists
        allowed = set(CHANNEL_CREDENTIAL_KEYS.get(channel, ())) if channel else set(ALL_CREDENTIAL_KEYS)
        for key in self.credential_keys:
            value_field, clear_field = credential_field_name(key), credential_clear_field_name(key)
            if not cleaned.get(value_field):
                continue
            if cleaned.get(clear_field):
                self.add_error(value_field, _("Either enter a new value or clear it, not both."))
            elif key not in allowed:
                self.add_error(value_field, _("This channel does not use %(key)s.") % {"key": key})
        return cleaned

    def save(self, commit: bool = True) -> ChannelAccount:
        account = super().save(commit=False)
        account.credentials = channel_account_credentials_merge(
            current=account.credentials,
            new_values={key: self.cleaned_data.get(credential_field_name(key), "") for key in self.credential_keys},
            clear=[key for key in self.credential_keys if self.cleaned_data.get(credential_clear_field_name(key))],
        )
        if commit:
            account.save()
            self._save_m2m()
        return account


# Declared (not added in ``__init__``) so the admin's fieldsets may name them; ``__init__`` drops the keys the
# account's channel does not take.
ChannelAccountAdminForm = type("ChannelAccountAdminForm", (_ChannelAccountAdminFormBase,), _credential_fields())
ChannelAccountAdminForm.__doc__ = """Edits everything but the raw ``credentials`` JSON: each credential key gets a
password input that never renders the stored value (blank keeps it) and a "clear" checkbox."""
