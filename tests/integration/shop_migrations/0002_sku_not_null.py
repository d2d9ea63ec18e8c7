# ruff: noqa: N999 - Django's migration file naming
"""A release's migration that fails halfway: adds and indexes a column, then cannot make it NOT NULL.

Raw SQL only, so the models and the migration state still agree (no "changes without migrations").
On a database that holds products the last step fails; PostgreSQL then rolls back the first two.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = (("shop", "0001_initial"),)

    operations = (
        migrations.RunSQL("ALTER TABLE shop_product ADD COLUMN sku varchar(32)"),
        migrations.RunSQL("CREATE INDEX shop_product_sku ON shop_product (sku)"),
        migrations.RunSQL("ALTER TABLE shop_product ALTER COLUMN sku SET NOT NULL"),
    )
