# shellcheck shell=bash
# The one "VAR or VAR_FILE" reader of the stack's shell scripts (compose/db-init/*, the replica
# entrypoint). Sourced, never run: mounted read-only at /usr/local/lib/multidb in every database
# container (build/compose.databases.yaml). Scripts source it only if `secret` is not defined yet,
# so a caller without the mount may prepend this file's text to a script instead.

# secret NAME [--optional]: the contents of the file $NAME_FILE names (a Docker secret), else $NAME.
# Neither set: an error naming both, or nothing with --optional. Never echoes a value anywhere else.
secret() {
  local var=$1 file_var=${1}_FILE
  if [[ -n ${!file_var:-} ]]; then
    cat -- "${!file_var}"
  elif [[ -n ${!var:-} || ${2:-} == --optional ]]; then
    printf '%s' "${!var:-}"
  else
    echo "$var or $file_var must be set" >&2
    return 1
  fi
}
