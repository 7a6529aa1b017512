#!/usr/bin/env bash
# The runbook's "Rollback Rápido" as plain bash (runbooks/agentsalud-staging-rollback.md,
# Pasos 1-4), on the demo stack: what `rollback quick` is timed against.
# Like the plan, it ends when the API answers its health URL (the runbook's `curl -f`
# after `up -d`): a script that returns while the service is still starting is not done.
#   quick.sh STACK_DIR BACKUP_DIR PROJECT IMAGE HEALTH_URL
set -euo pipefail
stack=$1 backup=$2 project=$3 image=$4 health=$5
cd "$stack"
docker-compose -p "$project" --env-file .env.staging down --remove-orphans >/dev/null 2>&1
cp "$backup/docker-compose.yml" ./docker-compose.yml
cp "$backup/.env.staging" ./.env.staging
docker volume rm "${project}_pgdata" "${project}_data" >/dev/null
docker run --rm -v "${project}_pgdata:/data" -v "$backup:/backup" "$image" sh -c "cd /data && tar xzf /backup/pgdata.tar.gz"
docker run --rm -v "${project}_data:/data" -v "$backup:/backup" "$image" sh -c "cd /data && tar xzf /backup/data.tar.gz"
docker-compose -p "$project" --env-file .env.staging up -d >/dev/null 2>&1
docker-compose -p "$project" --env-file .env.staging ps >/dev/null
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "$health" 2>/dev/null && exit 0
  sleep 0.25
done
echo "quick.sh: $health did not answer" >&2
exit 1
