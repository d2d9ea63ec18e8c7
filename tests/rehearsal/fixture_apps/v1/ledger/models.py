from django.db import models


class Entry(models.Model):
    account = models.CharField(max_length=40)
    amount = models.IntegerField()
    memo = models.TextField(blank=True)

    class Meta:
        db_table = "ledger_entry"
