"""A model with no migration file: migrate_all outside development must refuse (exit 2)."""

from django.db import models


class Unmigrated(models.Model):
    label = models.CharField(max_length=20)
