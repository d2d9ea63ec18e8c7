# ruff: noqa: N999 - Django's migration file naming
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("shop", "0001_initial"),)

    operations = (migrations.RunSQL("CREATE EXTENSION pageinspect", "DROP EXTENSION pageinspect"),)
