#!/usr/bin/env bash
# Idempotent installer for a fresh machine (Debian bookworm, Node 20, npm 11, root).
#   1. Debian packages (only the missing ones): chromium libkrb5-dev ripgrep
#      python3-torch python3-matplotlib fonts-wqy-microhei libvulkan1
#   2. the project's npm dependencies (npm ci, or npm install without a lockfile)
#   3. code-server 4.100.3 (a real VS Code for the e2e tests) into
#      .vscode-test/code-server/, skipped when that version is already installed and
#      was verified to start.
# Safe to re-run; a warm machine finishes in about a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CS_VERSION="4.100.3"
CS_DIR="$ROOT/.vscode-test/code-server"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
RG_VERSION_DIR="vscode-ripgrep-cache-1.15.11"
RG_TARBALL="ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
# fonts-wqy-microhei: a small CJK font, so screenshots of the (Chinese) sample notes show text, not boxes.
# libvulkan1: the Vulkan loader Dawn (npm `webgpu`) needs; CI uses chromium's SwiftShader ICD as the adapter.
# python3-ipykernel, jupyter-server: stateful Jupyter kernels for notes (local and the remote-server test).
APT_PACKAGES=(chromium libkrb5-dev ripgrep python3-torch python3-matplotlib fonts-wqy-microhei libvulkan1 python3-ipykernel jupyter-server)

T0=$(date +%s)
say() { printf '[install %3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
export npm_config_yes=true        # node-pty's install runs `npx node-gyp`; this machine says yes=false
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

# ---------------------------------------------------------------- 1. Debian packages
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to apt-get install: ${missing[*]}"
    SUDO="sudo"
  fi
  # Another apt (e.g. unattended upgrades) holding the lock: wait for it.
  for _ in $(seq 1 120); do
    pgrep -x apt-get >/dev/null || pgrep -x apt >/dev/null || pgrep -x dpkg >/dev/null || break
    sleep 5
  done
  say "apt-get install ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "apt packages installed"
else
  say "apt packages present: ${APT_PACKAGES[*]}"
fi

# ---------------------------------------------------------------- 2. project npm deps
# npm ci wipes and refills node_modules (~20 s): skip it when this script already ran it for
# the same package.json + package-lock.json (a stamp in node_modules records their hash).
# Note: npm 11 skips dependency install scripts not listed in package.json#allowScripts
# (here esbuild's, @vscode/vsce-sign's and webgpu's, which only clears macOS's quarantine flag on
# its prebuilt dawn.node); none is needed to build, package or test. webgpu ships dawn.node for
# every platform inside the npm package: nothing is downloaded at install time.
stamp="node_modules/.mln-install-stamp"
if [ -f package-lock.json ]; then
  want="$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)"
  if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "node_modules up to date with package-lock.json"
  else
    say "npm ci"
    npm ci --no-progress --loglevel=error
    echo "$want" >"$stamp"
    say "npm ci done"
  fi
else
  say "npm install (no package-lock.json)"
  npm install --no-progress --loglevel=error
fi

# ---------------------------------------------------------------- 3. code-server
cs_version_ok() {
  [ -f "$CS_ENTRY" ] && [ -f "$CS_DIR/.mln-verified" ] &&
    [ "$(node -p "require('$CS_DIR/node_modules/code-server/package.json').version" 2>/dev/null)" = "$CS_VERSION" ]
}

# Start the installed code-server once and check that it serves a workbench and that its
# native modules load (npm 11 silently skips install scripts it was not told to allow; a
# missing node-pty/kerberos/spdlog build would otherwise only show up as a broken terminal).
http_get() {  # no curl needed
  node -e "fetch(process.argv[1]).then(async r => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()); }, () => process.exit(1))" "$1"
}
cs_verify() {
  local vscode="$CS_DIR/node_modules/code-server/lib/vscode"
  local m
  for m in node-pty/build/Release/pty.node kerberos/build/Release/kerberos.node \
           @vscode/spdlog/build/Release/spdlog.node native-watchdog/build/Release/watchdog.node \
           @vscode/ripgrep/bin/rg; do
    [ -e "$vscode/node_modules/$m" ] || { echo "missing $vscode/node_modules/$m"; return 1; }
  done
  (cd "$vscode" && node -e "
    for (const m of ['node-pty', 'kerberos', '@vscode/spdlog', 'native-watchdog', '@parcel/watcher']) require(m);
  ") || return 1
  (cd "$CS_DIR/node_modules/code-server" && node -e "require('argon2')") || return 1

  local tmp port pid ok=1
  tmp="$(mktemp -d)"
  port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  setsid node "$CS_ENTRY" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry \
    --disable-update-check --disable-workspace-trust --config "$tmp/config.yaml" \
    --user-data-dir "$tmp/ud" --extensions-dir "$tmp/ext" "$tmp" >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 60); do
    if http_get "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ok=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if [ $ok = 0 ]; then
    http_get "http://127.0.0.1:$port/?folder=$tmp" | grep -q 'workbench' || ok=1
  fi
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ $ok = 0 ] || { echo "code-server did not start; its log:"; cat "$tmp/log"; }
  rm -rf "$tmp"
  return $ok
}

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = 20 ] || die "code-server $CS_VERSION needs Node 20 (this is Node $(node -v)); later code-server versions need Node 22+"

if cs_version_ok; then
  say "code-server $CS_VERSION already installed in .vscode-test/code-server"
else
  say "installing code-server $CS_VERSION into .vscode-test/code-server (about a minute)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"

  # @vscode/ripgrep downloads rg from GitHub (unreachable here) unless a cached tarball
  # is present in os.tmpdir(); give it Debian's rg.
  tmpdir="${TMPDIR:-/tmp}"
  rgcache="$tmpdir/$RG_VERSION_DIR"
  if [ ! -s "$rgcache/$RG_TARBALL" ]; then
    command -v rg >/dev/null || die "ripgrep (rg) is not on PATH"
    mkdir -p "$rgcache"
    rgstage="$(mktemp -d)"
    cp "$(command -v rg)" "$rgstage/rg"
    tar -czf "$rgcache/$RG_TARBALL" -C "$rgstage" rg
    rm -rf "$rgstage"
  fi

  # A private project for code-server. npm 11 runs no dependency install script that is
  # not allowed. The root project allows code-server's own script and argon2's through
  # package.json#allowScripts. code-server's script runs `npm install` in lib/vscode and
  # lib/vscode/extensions, projects of their own whose native modules need their scripts
  # too; npm refuses allow-scripts from env/CLI in project installs and would export a
  # user/global .npmrc value to the nested npm as env, so: fetch without scripts first,
  # drop a project .npmrc into each nested project, then run the scripts (npm rebuild).
  cat >"$CS_DIR/package.json" <<EOF
{
  "name": "mln-code-server",
  "private": true,
  "description": "code-server for ML Notes' end-to-end tests (installed by scripts/install.sh)",
  "dependencies": { "code-server": "$CS_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
  if ! (cd "$CS_DIR" && npm install --ignore-scripts --omit=dev --no-progress --loglevel=warn \
        >"$CS_DIR/install.log" 2>&1); then
    tail -40 "$CS_DIR/install.log"
    die "npm install code-server failed; see .vscode-test/code-server/install.log"
  fi
  allow="node-pty,kerberos,@vscode/spdlog,native-watchdog,@parcel/watcher,@vscode/deviceid,@vscode/ripgrep,@vscode/windows-ca-certs,@vscode/windows-process-tree,@vscode/windows-registry"
  for d in lib/vscode lib/vscode/extensions; do
    echo "allow-scripts=$allow" >"$CS_DIR/node_modules/code-server/$d/.npmrc"
  done
  say "building code-server's native modules (node-gyp)"
  if ! (cd "$CS_DIR" && npm_config_unsafe_perm=true \
        npm rebuild --unsafe-perm --foreground-scripts --loglevel=warn >>"$CS_DIR/install.log" 2>&1); then
    tail -40 "$CS_DIR/install.log"
    die "building code-server failed; see .vscode-test/code-server/install.log"
  fi
  if grep -E 'install-scripts' "$CS_DIR/install.log"; then
    say "warning: npm skipped some install scripts (listed above); the check below decides"
  fi
  [ -f "$CS_ENTRY" ] || die "code-server entry point missing after install"
  say "verifying code-server (native modules + /healthz)"
  cs_verify || die "code-server $CS_VERSION installed but does not work; see .vscode-test/code-server/install.log"
  echo "$CS_VERSION" >"$CS_DIR/.mln-verified"
  say "code-server $CS_VERSION installed and verified"
fi

say "done in $(($(date +%s) - T0)) s"
