"""NOT NULL on a populated column: a full scan under ACCESS EXCLUSIVE."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = (("ledger", "0003_entry_note"),)

    operations = (migrations.AlterField(model_name="entry", name="note", field=models.TextField(default="")),)
