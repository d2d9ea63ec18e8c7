#!/usr/bin/env bash
# The app image's entrypoint: `serve` (gunicorn, the default), `migrate` (migrate_all), or any command.
# gunicorn's settings come from GUNICORN_* variables (compose/compose.yaml): the bind address, the
# workers, and GUNICORN_FORWARDED_ALLOW_IPS, the proxy's address (the only peer whose
# X-Forwarded-* headers are believed).
set -euo pipefail

cd /srv/app
readonly CONF=app/project/gunicorn.conf.py
case ${1:-serve} in
  serve)
    shift $(($# > 0))
    # --preload: a broken config fails the master at once instead of every worker in a loop.
    if [[ -f $CONF ]]; then
      exec gunicorn -c "$CONF" --chdir app --preload project.wsgi:application "$@"
    fi
    # A tree without the config module: the same settings as flags.
    exec gunicorn --chdir app --preload \
      --bind "${GUNICORN_BIND:-127.0.0.1:8000}" --workers "${GUNICORN_WORKERS:-2}" \
      --threads "${GUNICORN_THREADS:-1}" --graceful-timeout 30 \
      --access-logfile - --forwarded-allow-ips "${GUNICORN_FORWARDED_ALLOW_IPS:-127.0.0.1}" \
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
