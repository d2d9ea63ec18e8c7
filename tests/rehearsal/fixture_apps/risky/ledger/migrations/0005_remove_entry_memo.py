"""Backward incompatible: the previous release still selects memo."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("ledger", "0004_entry_account_idx"),)

    operations = (migrations.RemoveField(model_name="entry", name="memo"),)
