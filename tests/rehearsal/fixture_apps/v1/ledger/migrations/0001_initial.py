from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = ()

    operations = (
        migrations.CreateModel(
            name="Entry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account", models.CharField(max_length=40)),
                ("amount", models.IntegerField()),
                ("memo", models.TextField(blank=True)),
            ],
            options={"db_table": "ledger_entry"},
        ),
    )
