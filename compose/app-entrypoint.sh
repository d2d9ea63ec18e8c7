#!/usr/bin/env bash
# The app image's entrypoint: `serve` (gunicorn, the default), `migrate` (migrate_all), or any command.
set -euo pipefail

cd /srv/app
case ${1:-serve} in
  serve)
    shift $(($# > 0))
    # --preload: a broken config fails the master at once instead of every worker in a loop.
    exec gunicorn --chdir app --preload \
      --bind "0.0.0.0:${PORT:-8000}" --workers "${WEB_CONCURRENCY:-2}" \
      --access-logfile - --forwarded-allow-ips '*' \
      project.wsgi:application "$@"
    ;;
  migrate)
    shift
    exec python app/manage.py migrate_all "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
