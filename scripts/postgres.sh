#!/usr/bin/env bash
# A real PostgreSQL server for the history store's tests (`make postgres`; `make test` starts
# it): a throwaway cluster in $TMPDIR, listening on 127.0.0.1 only, password authentication
# (scram) for the user `postgres`, password `servebench` — a test server, never a team's.
# TLS is on, with a server certificate for localhost/127.0.0.1 signed by a test CA made here
# (openssl) whose certificate is $dir/ca.pem: the tests connect with
# `?sslmode=verify-full&sslrootcert=…`, as a team's server across a network is reached, and
# the role `servebench_tls` is refused on a connection without TLS.
# Run as the `postgres` user when started by root (PostgreSQL refuses to run as root).
#   scripts/postgres.sh start   start it (if it is not running) and print its URL
#   scripts/postgres.sh ca      print the path of the test CA's certificate
#   scripts/postgres.sh stop    stop it
set -euo pipefail
port=${SERVEBENCH_PG_PORT:-15432}
dir=${TMPDIR:-/tmp}/servebench-postgres-$port
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  if command -v initdb >/dev/null; then bin=$(dirname "$(command -v initdb)"); else
    echo "scripts/postgres.sh: PostgreSQL is not installed: apt-get install postgresql (Debian), or your system's package" >&2
    exit 1
  fi
fi
as_owner() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}
case ${1:-start} in
start)
  if [ -L "$dir" ]; then
    echo "scripts/postgres.sh: $dir is a symbolic link: remove it (or set TMPDIR)" >&2; exit 1
  fi
  if [ ! -s "$dir/PG_VERSION" ]; then
    if [ "$(id -u)" = 0 ]; then install -d -o postgres -m 700 "$dir"; else mkdir -p -m 700 "$dir"; fi
    pw=$(mktemp); trap 'rm -f "$pw"' EXIT
    echo servebench > "$pw"; chmod 644 "$pw"
    as_owner "'$bin/initdb' -D '$dir' -U postgres --pwfile='$pw' --auth=scram-sha-256 -E UTF8 --no-locale" >/dev/null
  fi
  if [ ! -s "$dir/server.crt" ] || ! grep -q '^ssl = on' "$dir/postgresql.conf"; then
    command -v openssl >/dev/null || { echo "scripts/postgres.sh: openssl is not installed (apt-get install openssl): it makes the test server's TLS certificate" >&2; exit 1; }
    certs=$(mktemp -d); trap 'rm -rf "$certs" "${pw:-}"' EXIT
    ssl() { openssl "$@" 2>"$certs/log" || { echo "scripts/postgres.sh: openssl $1 failed:" >&2; cat "$certs/log" >&2; exit 1; }; }
    ssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=servebench test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$certs/ca.key" -out "$certs/ca.pem"
    ssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$certs/server.key" -out "$certs/server.csr"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$certs/ext"
    ssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
      -CAcreateserial -days 3650 -extfile "$certs/ext" -out "$certs/server.crt"
    chmod 755 "$certs"; chmod 644 "$certs/ca.pem" "$certs/server.crt"
    chmod 600 "$certs/server.key" "$certs/ca.key"
    if [ "$(id -u)" = 0 ]; then chown postgres "$certs/server.key" "$certs/server.crt" "$certs/ca.pem"; fi
    # TLS on in the cluster's own configuration (a server already running reloads it below);
    # the role servebench_tls is refused without TLS: the tests prove servebench's own
    # connection was encrypted by being let in at all.
    as_owner "cp '$certs/server.key' '$certs/server.crt' '$certs/ca.pem' '$dir/' && chmod 600 '$dir/server.key' && echo 'ssl = on' >> '$dir/postgresql.conf' && { echo 'hostnossl all servebench_tls all reject'; cat '$dir/pg_hba.conf'; } > '$dir/pg_hba.new' && mv '$dir/pg_hba.new' '$dir/pg_hba.conf'"
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      as_owner "'$bin/pg_ctl' -D '$dir' reload" >/dev/null
      sleep 1
    fi
  fi
  # pg_isready: 0 accepting, 1 starting, 2 no response — start only when nothing answers.
  ready=0; "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || ready=$?
  if [ "$ready" = 1 ]; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do sleep 1; "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break; done
  elif [ "$ready" != 0 ]; then
    as_owner "'$bin/pg_ctl' -D '$dir' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1\" start" >/dev/null
  fi
  echo "postgres://postgres:servebench@127.0.0.1:$port/postgres"
  ;;
ca)
  [ -s "$dir/ca.pem" ] || { echo "scripts/postgres.sh: no test CA yet: run scripts/postgres.sh start" >&2; exit 1; }
  echo "$dir/ca.pem"
  ;;
stop)
  [ -s "$dir/PG_VERSION" ] && as_owner "'$bin/pg_ctl' -D '$dir' -m fast -w stop" >/dev/null || true
  ;;
*)
  echo "usage: scripts/postgres.sh start|ca|stop" >&2; exit 2
  ;;
esac
