#!/usr/bin/env bash
# Makes a development CA and one certificate per node for node-to-node mutual TLS.
#
#   scripts/gen-certs.sh DIR NODE...      e.g. scripts/gen-certs.sh ./certs node-1 node-2 node-3
#
# Writes DIR/ca.pem (TLS_CA of every node), DIR/ca.key (keep it away from the nodes), and per
# node DIR/NODE.pem (TLS_CERT) and DIR/NODE.key (TLS_KEY). An existing CA in DIR is reused, so
# a node added later gets a certificate the others trust. EC P-256 keys, valid 825 days.
# Nodes check that a peer's certificate chains to the CA, not its name: whoever holds a
# certificate of this CA is a member (docs/security.md). For production, use your own CA.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DIR NODE..." >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "gen-certs: openssl not found (apt-get install openssl)" >&2; exit 1; }
dir=$1
shift
mkdir -p "$dir"
umask 077
if [ ! -f "$dir/ca.pem" ] || [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=clusterkit development CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  echo "gen-certs: CA $dir/ca.pem"
fi
for node in "$@"; do
  case "$node" in
    *[!A-Za-z0-9._-]*|'') echo "gen-certs: bad node name '$node'" >&2; exit 2 ;;
  esac
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$node" \
    -keyout "$dir/$node.key" -out "$dir/$node.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$node" > "$dir/$node.ext"
  openssl x509 -req -in "$dir/$node.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 825 -extfile "$dir/$node.ext" -out "$dir/$node.pem" 2>/dev/null
  rm -f "$dir/$node.csr" "$dir/$node.ext"
  echo "gen-certs: $node -> $dir/$node.pem, $dir/$node.key"
done
# Certificates are public; keys stay owner-only.
chmod 644 "$dir"/*.pem
chmod 600 "$dir"/*.key
chmod 600 "$dir/ca.key"
