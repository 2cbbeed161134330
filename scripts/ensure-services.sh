#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ answer on 127.0.0.1 before the tests run.
# Starts them if they are installed but stopped; fails clearly if they are absent.
set -u

PG_HOST=${DROPSHIP_TEST_PG_HOST:-127.0.0.1}
PG_PORT=${DROPSHIP_TEST_PG_PORT:-5432}
AMQP_PORT=${DROPSHIP_TEST_AMQP_PORT:-5672}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # name host port seconds
  local i
  for ((i = 0; i < $4 * 2; i++)); do
    port_open "$2" "$3" && return 0
    sleep 0.5
  done
  return 1
}

if ! port_open "$PG_HOST" "$PG_PORT"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is not running: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  else
    echo "ERROR: PostgreSQL is not reachable on $PG_HOST:$PG_PORT and is not installed here." >&2
    echo "       Install it (Debian: apt install postgresql) or point DROPSHIP_TEST_PG_HOST at one." >&2
    exit 1
  fi
  wait_for postgres "$PG_HOST" "$PG_PORT" 60 || { echo "ERROR: PostgreSQL did not come up" >&2; exit 1; }
fi
for ((i = 0; i < 60; i++)); do
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null && break
  command -v pg_isready >/dev/null 2>&1 || break
  sleep 0.5
done

if ! port_open 127.0.0.1 "$AMQP_PORT"; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "RabbitMQ is not running: starting it"
    rabbitmq-server -detached || true
  else
    echo "ERROR: RabbitMQ is not reachable on 127.0.0.1:$AMQP_PORT and is not installed here." >&2
    echo "       Install it (Debian: apt install rabbitmq-server)." >&2
    exit 1
  fi
  wait_for rabbitmq 127.0.0.1 "$AMQP_PORT" 120 || { echo "ERROR: RabbitMQ did not come up" >&2; exit 1; }
fi
if command -v rabbitmqctl >/dev/null 2>&1; then
  # the port opens before the broker is ready to take connections
  rabbitmqctl await_startup --timeout 120 >/dev/null 2>&1 || true
fi
echo "PostgreSQL and RabbitMQ are up"
