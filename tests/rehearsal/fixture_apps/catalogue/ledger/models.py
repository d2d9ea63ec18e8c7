from django.conf import settings
from django.db import models


class Entry(models.Model):
    account_name = models.CharField(max_length=40)
    amount = models.IntegerField()
    memo = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    note = models.TextField(default="")

    class Meta:
        db_table = "ledger_entries"
