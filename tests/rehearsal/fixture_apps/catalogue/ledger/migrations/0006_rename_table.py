from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("ledger", "0005_rename_account"),)

    operations = (migrations.AlterModelTable(name="entry", table="ledger_entries"),)
