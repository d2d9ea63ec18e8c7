from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = (("ledger", "0001_initial"),)

    operations = (
        migrations.AddField(model_name="entry", name="currency", field=models.CharField(default="EUR", max_length=3)),
        migrations.AddField(model_name="entry", name="amount_cents", field=models.BigIntegerField(default=0)),
    )
