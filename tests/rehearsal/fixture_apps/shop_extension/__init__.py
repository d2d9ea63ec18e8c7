"""shop's migrations in a release that needs an extension only a superuser may create (pageinspect is untrusted):
staging's owner role, which the rehearsal migrates as, may not run 0002."""
