"""Raw SQL adding a UNIQUE constraint to populated auth_user (usernames are unique, so it succeeds)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("ledger", "0006_rename_table"),)

    operations = (
        migrations.RunSQL(
            'ALTER TABLE "auth_user" ADD CONSTRAINT "auth_user_username_email_uniq" UNIQUE ("username", "email")',
            'ALTER TABLE "auth_user" DROP CONSTRAINT "auth_user_username_email_uniq"',
        ),
    )
