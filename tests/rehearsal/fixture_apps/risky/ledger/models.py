from django.db import models


class Entry(models.Model):
    account = models.CharField(max_length=40)
    amount = models.BigIntegerField()
    note = models.TextField(null=True)

    class Meta:
        db_table = "ledger_entry"
        indexes = (models.Index(fields=["account"], name="ledger_entry_account_idx"),)
