#!/usr/bin/env bash
# The bash completion, driven as bash drives it (COMP_WORDS/COMP_CWORD, then COMPREPLY), with
# the real binary on PATH: subcommands, plan names from `list --json`, options, and after
# --target the targets of the plan on the line from `targets PLAN --json`.
# Usage: completion.sh SOURCE_DIR ROLLBACK_BINARY
set -euo pipefail
src=$1
bin=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$work/bin" "$work/plans" "$work/backups/staging-20250101" "$work/backups/staging-20250102"
ln -s "$bin" "$work/bin/rollback"
cat > "$work/plans/restore.yaml" <<PLAN
version: 1
name: restore
vars: {backups: $work/backups}
target: {from: dir, dir: '\${backups}', glob: 'staging-*', default: latest}
steps:
  - {id: wait, action: wait.sleep, with: {duration: 1ms}}
PLAN
cp "$work/plans/restore.yaml" "$work/plans/rehearsal-only.yaml"
sed -i 's/^name: restore/name: rehearsal-only/' "$work/plans/rehearsal-only.yaml"
export PATH="$work/bin:$PATH"
source "$src/scripts/completion/rollback.bash"

complete_line() {  # the words of a command line, the last one being completed
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _rollback_complete
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() {  # expect "what" "got" "want..."
  local what=$1 got=$2
  shift 2
  for want in "$@"; do [[ " $got " == *" $want "* ]] || fail "$what: '$want' not in: $got"; done
  echo "$what: $got"
}

expect "subcommands" "$(complete_line rollback --plans-dir "$work/plans" re)" rehearse resume restore rehearsal-only
expect "plans after run" "$(complete_line rollback --plans-dir "$work/plans" run "")" restore rehearsal-only
expect "targets after --target" "$(complete_line rollback --plans-dir "$work/plans" restore --target "")" \
  latest previous staging-20250101 staging-20250102
expect "targets for rehearse" "$(complete_line rollback --plans-dir "$work/plans" rehearse restore --target staging-2025010)" \
  staging-20250101 staging-20250102
expect "options of a run" "$(complete_line rollback --plans-dir "$work/plans" restore --d)" --dry-run
expect "options of resume" "$(complete_line rollback resume --all)" --allow-changed-plan
echo "ok"
