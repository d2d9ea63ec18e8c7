"""Lock-heavy: integer -> bigint rewrites the table under ACCESS EXCLUSIVE."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = (("ledger", "0002_entry_note"),)

    operations = (migrations.AlterField(model_name="entry", name="amount", field=models.BigIntegerField()),)
