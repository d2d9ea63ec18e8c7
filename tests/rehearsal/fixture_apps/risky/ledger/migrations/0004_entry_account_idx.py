"""A plain CREATE INDEX on a populated table: SHARE lock (writes wait) for the whole build."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = (("ledger", "0003_amount_bigint"),)

    operations = (
        migrations.AddIndex(
            model_name="entry", index=models.Index(fields=["account"], name="ledger_entry_account_idx")
        ),
    )
