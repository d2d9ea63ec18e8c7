from django.db import models


class Entry(models.Model):
    account = models.CharField(max_length=40)
    amount = models.IntegerField()
    memo = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    amount_cents = models.BigIntegerField(default=0)

    class Meta:
        db_table = "ledger_entry"
