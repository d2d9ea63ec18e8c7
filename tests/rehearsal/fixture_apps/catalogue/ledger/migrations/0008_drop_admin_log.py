"""Raw SQL dropping a table that exists before the run (the admin's log), as DeleteModel would."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("ledger", "0007_user_username_email_unique"),)

    operations = (migrations.RunSQL('DROP TABLE "django_admin_log" CASCADE'),)
