#!/usr/bin/env bash
# The proxy's certificate (docs/tls.md): make sure TLS_DIR (default build/tls) holds server.crt and
# server.key, generating on first use a local CA (ca.crt, ca.key) and a server certificate for
# 127.0.0.1 and localhost signed by it, so clients verify with ca.crt. Files already there are kept:
# that is how you bring your own (put your chain and key there; no ca.crt is then needed). A generated
# certificate is renewed when it expires within 30 days. Prints one line when it wrote something.
# The directory is 0700 and the key 0644 inside it: the proxy runs as www-data and gets the key through
# a file bind mount, which the directory's mode does not guard, while on the host only its owner enters.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${TLS_DIR:-build/tls}
readonly DAYS_CA=3650 DAYS_SERVER=397 RENEW_SECONDS=$((30 * 86400))

main() {
  command -v openssl >/dev/null || scripts/ensure-debs.sh openssl
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [[ -f $dir/server.crt && -f $dir/server.key ]]; then
    check_pair
    if [[ -f $dir/ca.key ]] && ! openssl x509 -checkend "$RENEW_SECONDS" -noout -in "$dir/server.crt" >/dev/null; then
      issue_server
      echo "tls: renewed $dir/server.crt (it expired within 30 days)"
    fi
  elif [[ -f $dir/server.crt || -f $dir/server.key ]]; then
    echo "tls: $dir has only one of server.crt and server.key; add the other, or remove both to generate a pair" >&2
    exit 2
  else
    [[ -f $dir/ca.key ]] || issue_ca
    issue_server
    echo "tls: generated a local CA and a certificate for 127.0.0.1 and localhost in $dir (clients verify with $dir/ca.crt)"
  fi
  chmod 644 "$dir/server.key"
}

# A key that does not belong to the certificate would only show as nginx failing to start: say it here.
check_pair() {
  local cert key
  cert=$(openssl x509 -noout -pubkey -in "$dir/server.crt" 2>/dev/null) || {
    echo "tls: $dir/server.crt is not a PEM certificate; replace it (or remove server.crt and server.key to generate a pair)" >&2
    exit 2
  }
  key=$(openssl pkey -pubout -in "$dir/server.key" 2>/dev/null) || {
    echo "tls: $dir/server.key is not an unencrypted PEM private key; replace it (nginx cannot ask for a passphrase)" >&2
    exit 2
  }
  [[ $cert == "$key" ]] || {
    echo "tls: $dir/server.key does not belong to $dir/server.crt; put the matching pair there" >&2
    exit 2
  }
}

issue_ca() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null)
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$DAYS_CA" -subj "/CN=multidb-reference local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.crt" 2>/dev/null
}

issue_server() {
  local csr extensions
  csr=$(mktemp) extensions=$(mktemp)
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/server.key.tmp" 2>/dev/null)
  openssl req -new -key "$dir/server.key.tmp" -subj "/CN=127.0.0.1" -out "$csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$extensions"
  openssl x509 -req -in "$csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -sha256 \
    -days "$DAYS_SERVER" -extfile "$extensions" -out "$dir/server.crt.tmp" 2>/dev/null
  rm -f "$csr" "$extensions"
  mv "$dir/server.key.tmp" "$dir/server.key"
  mv "$dir/server.crt.tmp" "$dir/server.crt"
}

main "$@"
