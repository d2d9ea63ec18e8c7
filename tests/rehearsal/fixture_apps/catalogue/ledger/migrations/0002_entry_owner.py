"""A foreign key added to a populated table, validated at once (no NOT VALID), and its plain index."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = (("ledger", "0001_initial"), migrations.swappable_dependency(settings.AUTH_USER_MODEL))

    operations = (
        migrations.AddField(
            model_name="entry",
            name="owner",
            field=models.ForeignKey(null=True, on_delete=models.SET_NULL, to=settings.AUTH_USER_MODEL),
        ),
    )
