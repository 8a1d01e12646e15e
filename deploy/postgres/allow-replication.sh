#!/bin/sh
# Lets a streaming replica copy and follow this server (docker-compose's scale-out profile):
# replication connections of the owner role, with its password, from the compose network.
set -e
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
