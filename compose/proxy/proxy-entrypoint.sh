#!/bin/sh
# The proxy's entrypoint: render nginx.conf with the host's HTTPS port (for the HTTP redirect) into the
# tmpfs, check it, and run nginx in the foreground. Input: HTTPS_PORT (default 8443).
set -eu
port=${HTTPS_PORT:-8443}
case $port in
  '' | *[!0-9]*) echo "proxy: HTTPS_PORT must be a port number, got '$port' (set it in the env file)" >&2; exit 2 ;;
esac
sed "s/@HTTPS_PORT@/$port/g" /etc/multidb-proxy/nginx.conf >/tmp/nginx.conf
exec nginx -e stderr -c /tmp/nginx.conf -g 'daemon off;'
