from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = (("ledger", "0002_entry_owner"),)

    operations = (migrations.AddField(model_name="entry", name="note", field=models.TextField(null=True)),)
