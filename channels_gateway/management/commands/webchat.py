"""Operator CLI for a hotel's guest web chat.

    manage.py webchat create --tenant S [--allowed-origins "https://a.com,https://b.com"] [--base-url URL]
    manage.py webchat show --tenant S [--base-url URL]

``create`` prints the new public key and the ``<script>`` tag to paste in the hotel's site; ``show`` lists the
hotel's web chats. The public key is not a secret (every visitor's browser sees it); the allowed origins decide
which sites may use it (the hosted page ``/chat/<slug>/`` always may).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_gateway.webchat.services import (
    embed_snippet,
    webchat_account_create,
)
from tenants.models import ChannelAccount, ChannelType, Tenant

DEFAULT_BASE_URL = "http://localhost:8000"


class Command(BaseCommand):
    help = "Create or show a hotel's guest web chat (public key and embed snippet)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a web chat with a new public key.")
        create.add_argument("--tenant", required=True, help="Hotel slug.")
        create.add_argument("--allowed-origins", default="", help="Sites that embed it: https://a.com,https://b.com")
        create.add_argument("--display-name", default="")
        create.add_argument("--base-url", default=DEFAULT_BASE_URL, help="Where this server is reached.")
        show = sub.add_parser("show", help="List the hotel's web chats.")
        show.add_argument("--tenant", required=True, help="Hotel slug.")
        show.add_argument("--base-url", default=DEFAULT_BASE_URL, help="Where this server is reached.")

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f'Unknown hotel "{options["tenant"]}".')
        base_url = options["base_url"].rstrip("/")
        if options["action"] == "create":
            try:
                account = webchat_account_create(
                    tenant=tenant, allowed_origins=options["allowed_origins"], display_name=options["display_name"]
                )
            except ValueError as exc:
                raise CommandError(f"--allowed-origins: {exc}") from None
            self.stdout.write(f"Web chat created for {tenant.slug}.")
            self._describe(account, base_url)
            return
        accounts = ChannelAccount.objects.filter(tenant=tenant, channel=ChannelType.WEBCHAT).order_by("pk")
        if not accounts:
            self.stdout.write(
                f"{tenant.slug} has no web chat. Create one: manage.py webchat create --tenant {tenant.slug}"
            )
            return
        for account in accounts:
            self._describe(account, base_url)

    def _describe(self, account: ChannelAccount, base_url: str) -> None:
        origins = account.credential("allowed_origins") or "(only the hosted page)"
        lines = [
            f"  public key       {account.external_id}{'' if account.is_active else '  (inactive)'}",
            f"  allowed origins  {origins}",
            f"  hosted page      {base_url}/chat/{account.tenant.slug}/",
            f"  embed            {embed_snippet(base_url=base_url, public_key=account.external_id)}",
        ]
        self.stdout.write("\n".join(lines))
