# ruff: noqa: N999 - Django's migration file naming
"""A release's migration that leaves the schema editor no deferred SQL, so Django records it inside its transaction.

Raw SQL only, so the models and the migration state still agree.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("blog", "0001_initial"),)
    operations = (migrations.RunSQL("CREATE TABLE blog_plain (id integer)", "DROP TABLE blog_plain"),)
