"""A data migration: every existing entry's amount in cents, in one UPDATE."""

from django.db import migrations
from django.db.models import F


def fill_cents(apps, schema_editor):
    entry = apps.get_model("ledger", "Entry")
    entry.objects.using(schema_editor.connection.alias).update(amount_cents=F("amount") * 100)


class Migration(migrations.Migration):
    dependencies = (("ledger", "0002_entry_currency_amount_cents"),)

    operations = (migrations.RunPython(fill_cents, migrations.RunPython.noop),)
