"""Enqueue again the webhook notifications still unprocessed after N minutes (a lost task, a broker outage,
retries exhausted). Safe to run at any time (e.g. from cron every few minutes): processing is idempotent.
``--purge-processed-days D`` also deletes the rows processed more than D days ago."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser

from channels_gateway.services import (
    inbound_notifications_orphans_settle,
    inbound_notifications_purge,
    inbound_notifications_stuck,
)
from channels_gateway.tasks import process_inbound_notifications


class Command(BaseCommand):
    help = "Enqueue unprocessed inbound webhook notifications older than --minutes (default 10)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=float, default=10.0, help="only rows received longer ago than this")
        parser.add_argument("--dry-run", action="store_true", help="list the stuck rows, enqueue nothing")
        parser.add_argument(
            "--purge-processed-days", type=float, default=None, help="also delete rows processed longer ago than this"
        )

    def handle(self, *args, minutes: float, dry_run: bool, purge_processed_days: float | None, **options) -> None:
        if purge_processed_days is not None and not dry_run:
            deleted = inbound_notifications_purge(older_than=timedelta(days=purge_processed_days))
            self.stdout.write(f"deleted {deleted} processed notification(s)")
        if not dry_run:
            orphans = inbound_notifications_orphans_settle()
            if orphans:
                self.stdout.write(f"closed {orphans} notification(s) of deleted channel accounts (not processed)")
        stuck = inbound_notifications_stuck(older_than=timedelta(minutes=minutes))
        if dry_run:
            self.stdout.write(f"{len(stuck)} unprocessed notification(s) older than {minutes:g} min: {stuck}")
            return
        for notification_id in stuck:
            process_inbound_notifications.delay([notification_id])
        self.stdout.write(f"enqueued {len(stuck)} notification(s)")
