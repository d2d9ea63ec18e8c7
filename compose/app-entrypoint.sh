#!/usr/bin/env bash
# The app image's entrypoint: `serve` (gunicorn, the default), `migrate` (migrate_all), or any command.
set -euo pipefail

cd /srv/app
case ${1:-serve} in
  serve)
    shift $(($# > 0))
    # Settings (workers, threads, trusted proxy, JSON logs): app/project/gunicorn.conf.py, from GUNICORN_*.
    # The proxy is another container, so listen on every interface of the stack's network.
    export GUNICORN_BIND=${GUNICORN_BIND:-0.0.0.0:${PORT:-8000}}
    exec gunicorn -c app/project/gunicorn.conf.py project.wsgi:application "$@"
    ;;
  migrate)
    shift
    exec python app/manage.py migrate_all "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
