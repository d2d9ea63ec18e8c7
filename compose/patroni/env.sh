# shellcheck shell=bash
# Sourced by entrypoint.sh (Patroni) and ctl.sh (patronictl): the node's passwords from the stack's
# secret files, the same ones as the plain stack's servers, exported for Patroni, which reads
# PATRONI_* variables over its configuration file. Never on a command line, never echoed.
source /usr/local/lib/multidb/secret.sh  # secret VAR: $VAR or the file $VAR_FILE names
PATRONI_SUPERUSER_USERNAME=${POSTGRES_USER:-postgres}
PATRONI_SUPERUSER_PASSWORD=$(secret POSTGRES_PASSWORD)
PATRONI_REPLICATION_USERNAME=${DB_REPLICATION:?}
PATRONI_REPLICATION_PASSWORD=$(secret DB_REPLICATION_PASSWORD)
# The REST API's changing calls (switchover, restart, reinitialise) need these; GET /health does not.
PATRONI_RESTAPI_USERNAME=patroni
PATRONI_RESTAPI_PASSWORD=$PATRONI_SUPERUSER_PASSWORD
PATRONI_RESTAPI_CONNECT_ADDRESS=${PATRONI_NAME:?}:8008
PATRONI_POSTGRESQL_CONNECT_ADDRESS=$PATRONI_NAME:5432
export PATRONI_SUPERUSER_USERNAME PATRONI_SUPERUSER_PASSWORD PATRONI_REPLICATION_USERNAME \
  PATRONI_REPLICATION_PASSWORD PATRONI_RESTAPI_USERNAME PATRONI_RESTAPI_PASSWORD \
  PATRONI_RESTAPI_CONNECT_ADDRESS PATRONI_POSTGRESQL_CONNECT_ADDRESS
readonly PATRONI_CONFIG=/usr/local/lib/multidb-patroni/patroni.yml
