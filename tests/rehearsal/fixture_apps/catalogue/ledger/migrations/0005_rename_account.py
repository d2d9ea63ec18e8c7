from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("ledger", "0004_note_not_null"),)

    operations = (migrations.RenameField(model_name="entry", old_name="account", new_name="account_name"),)
