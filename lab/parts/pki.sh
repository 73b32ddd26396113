# shellcheck shell=bash
# Part: the lab's private CA and a serving certificate for loopback services.
# Private keys are 0600; the CA is published so clients trust it explicitly.
PKI_DIR="$LAB_DIR/pki"

pki_up() {
  mkdir -p "$PKI_DIR"; chmod 0700 "$PKI_DIR"
  if [[ ! -s $PKI_DIR/ca.crt ]]; then
    say "pki: generating the lab CA"
    (umask 077; openssl genrsa -out "$PKI_DIR/ca.key" 2048 2>/dev/null)
    openssl req -x509 -new -key "$PKI_DIR/ca.key" -sha256 -days 3650 \
      -subj "/CN=edgeai lab CA" -out "$PKI_DIR/ca.crt"
  fi
  if [[ ! -s $PKI_DIR/server.crt ]]; then
    say "pki: issuing the loopback serving certificate"
    (umask 077; openssl genrsa -out "$PKI_DIR/server.key" 2048 2>/dev/null)
    openssl req -new -key "$PKI_DIR/server.key" -subj "/CN=127.0.0.1" -out "$PKI_DIR/server.csr"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' \
      > "$PKI_DIR/server.ext"
    openssl x509 -req -in "$PKI_DIR/server.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
      -CAcreateserial -days 825 -sha256 -extfile "$PKI_DIR/server.ext" -out "$PKI_DIR/server.crt" 2>/dev/null
  fi
  chmod 0600 "$PKI_DIR"/*.key
  printf 'LAB_CA=%s\n' "$PKI_DIR/ca.crt" > "$LAB_DIR/env.d/pki.env"
}

pki_down() { rm -rf "$PKI_DIR"; rm -f "$LAB_DIR/env.d/pki.env"; }

pki_status() {
  openssl verify -CAfile "$PKI_DIR/ca.crt" "$PKI_DIR/server.crt" >/dev/null 2>&1 \
    || { echo "no valid lab CA/serving certificate"; return 1; }
  echo "CA $(openssl x509 -in "$PKI_DIR/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2 | cut -c1-23)..."
}
