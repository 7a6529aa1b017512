#!/usr/bin/env bash
# The .deb from `cpack -G DEB` in the build dir: its contents, its Depends (computed by
# dpkg-shlibdeps from the libraries the binary links), and what it installs working when
# unpacked: the binary validates the packaged plans, rollback(1) shows the exit codes, the
# bash completion registers. Usage: deb.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/out" >/dev/null)
deb=$(ls "$work"/out/rollback_*.deb)
echo "package: $(basename "$deb")"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/rollback ./usr/share/man/man1/rollback.1.gz \
    ./usr/share/bash-completion/completions/rollback ./usr/share/zsh/vendor-completions/_rollback \
    ./usr/share/rollback/plans/quick.yaml ./usr/share/rollback/plans/full.yaml \
    ./usr/share/rollback/plans/emergency.yaml ./usr/share/rollback/plans/backup.yaml \
    ./usr/share/rollback/plans/coolify.yaml ./usr/share/rollback/plans/git-sql.yaml \
    ./usr/share/rollback/plans/coolify-db.yaml \
    ./usr/share/rollback/docs/plan.schema.json \
    ./usr/share/doc/rollback/examples/staging/docker-compose.yml \
    ./usr/share/doc/rollback/examples/systemd/rollback-check.service \
    ./usr/share/doc/rollback/examples/systemd/rollback-check.timer \
    ./usr/share/doc/rollback/examples/systemd/rollback-rehearse.service \
    ./usr/share/doc/rollback/examples/systemd/rollback-rehearse.timer \
    ./usr/share/doc/rollback/copyright; do
  grep -qxF "$path" <<<"$contents" || fail "the package lacks $path"
done

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libpq5 libcurl4 libyaml-cpp libzstd1 libssl3 libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (dpkg-shlibdeps did not run?)"
done

dpkg-deb -x "$deb" "$work/root"
bin="$work/root/usr/bin/rollback"
"$bin" version
"$bin" --plans-dir "$work/root/usr/share/rollback/plans" validate | tail -n 1
man -l "$work/root/usr/share/man/man1/rollback.1.gz" 2>/dev/null | grep -q "EXIT STATUS" || fail "rollback(1) has no EXIT STATUS"
man -l "$work/root/usr/share/man/man1/rollback.1.gz" 2>/dev/null | grep -A2 "^ *130" | grep -q "Interrupted" ||
  fail "rollback(1) does not list exit code 130"
echo "man page: EXIT STATUS present"
bash -c "source '$work/root/usr/share/bash-completion/completions/rollback' && complete -p rollback" |
  grep -q "_rollback_complete" || fail "the bash completion does not register"
echo "bash completion registers"
echo "ok"
