"""Raw SQL adding a NOT NULL column without a default to a populated table: it fails (and is reported first)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("ledger", "0008_drop_admin_log"),)

    operations = (
        migrations.RunSQL(
            "ALTER TABLE auth_user ADD COLUMN code integer NOT NULL", "ALTER TABLE auth_user DROP COLUMN code"
        ),
    )
