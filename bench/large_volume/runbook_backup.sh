#!/usr/bin/env bash
# The runbook's backup as plain bash: a dated folder with the compose and env files and one
# `tar czf` per volume, run in a helper container (what bench/large_volume/run times
# `rollback backup` against).
#   runbook_backup.sh STACK_DIR BACKUPS PROJECT IMAGE
set -euo pipefail
stack=$1 backups=$2 project=$3 image=$4
dest="$backups/staging-$(date +%Y%m%d-%H%M%S-%N)"
mkdir -p "$dest"
cp "$stack/docker-compose.yml" "$stack/.env.staging" "$dest/"
for v in pgdata data; do
  docker run --rm -v "${project}_$v:/data" -v "$dest:/backup" "$image" tar czf "/backup/$v.tar.gz" -C /data .
done
