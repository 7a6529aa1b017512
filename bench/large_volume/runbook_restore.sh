#!/usr/bin/env bash
# The runbook's volume restore as plain bash: remove the volume, then `tar xzf` the newest
# backup's archive into a fresh one (what bench/large_volume/run times a verified
# `docker.volume.restore` against).
#   runbook_restore.sh BACKUPS PROJECT IMAGE
set -euo pipefail
backups=$1 project=$2 image=$3
backup=$(ls -d "$backups"/staging-* | tail -n 1)
docker volume rm "${project}_data" >/dev/null
docker run --rm -v "${project}_data:/data" -v "$backup:/backup" "$image" sh -c "cd /data && tar xzf /backup/data.tar.gz"
