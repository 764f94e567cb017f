#!/usr/bin/env bash
# Installs what the tests need and npm does not, when it is missing:
#   restic                  from Debian trixie (that package only, pinned low: nothing else moves),
#                           the minor version container/Dockerfile pins (restic=0.18.*), so that
#                           the image, CI and the tests run one restic;
#   Node.js 24              from the npm registry's `node@24` package into /usr/local, when the
#                           machine's Node.js is older than 22 (or missing: then Debian's npm,
#                           with its Node.js 18, is installed first to fetch it, and npm 11 with it);
#   rclone                  `rclone serve restic`, the REST backend server;
#   openssl                 self-signed certificates for s3rver over TLS;
#   memcached + swift-*     a one-node OpenStack Swift with tempauth (which needs memcached).
# s3rver and azurite come from npm (devDependencies).
#
# trixie is added as a second source beside the machine's bookworm one (the same Types, URIs
# and Signed-By; Suites: trixie, Components: main) with every trixie package pinned at 100, so
# that only what is installed with `-t trixie` (restic) comes from it. trixie's restic needs only
# libc6 >= 2.34, which bookworm has.
#
# The Swift set is what the servers need with tempauth, checked with `apt-cache depends`:
# swift-{proxy,account,container,object} depend on `swift` (which ships
# /etc/swift/swift.conf, the hash settings every server reads) and `python3-swift` (the code,
# run by /usr/bin/python3); their Recommends (keystonemiddleware, barbican, castellan,
# drive-audit) are for keystone auth and encryption, which the tests do not use.
#
# Idempotent: with everything present it only verifies. Runs apt-get update at most once.
# Services the packages may start are not used: the tests start their own on free ports.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
root=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES=(
  rclone
  openssl
  memcached
  swift
  python3-swift
  swift-proxy
  swift-account
  swift-container
  swift-object
)
# The oldest Node.js the project runs on, and the one installed where the machine's is older.
NODE_MIN=22
NODE_PACKAGE=node@24
NODE_PREFIX=/usr/local

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
  echo "install.sh: not root and no sudo: cannot install packages" >&2
  exit 1
fi

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

updated=false
apt_update_once() {
  if [ "$updated" = false ]; then
    "${as_root[@]}" apt-get update -q
    updated=true
  fi
}

# The restic minor version the image installs: container/Dockerfile's `restic=MAJOR.MINOR.*`.
restic_minor=$(grep -v '^[[:space:]]*#' "$root/container/Dockerfile" | sed -n 's/.*restic=\([0-9][0-9]*\.[0-9][0-9]*\)\.\*.*/\1/p' | head -n 1)
if [ -z "$restic_minor" ]; then
  echo "install.sh: container/Dockerfile pins no restic=MAJOR.MINOR.*" >&2
  exit 1
fi

restic_version() {
  # `restic 0.18.0 compiled with go1.24.4 on linux/amd64` -> 0.18.0
  restic version 2>/dev/null | sed -n 's/^restic \([0-9][0-9.]*\) .*/\1/p'
}

restic_ok() {
  local version
  version=$(restic_version)
  [ -n "$version" ] && dpkg --compare-versions "$version" ge "$restic_minor"
}

node_major() {
  node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0
}

# The machine's own Debian source, as a trixie one: its bookworm stanza (deb822) with Suites and
# Components replaced, or for a one-line sources.list, its URI and signed-by key.
trixie_source() {
  local stanza
  stanza=$(awk '
    BEGIN { RS = ""; FS = "\n" }
    {
      for (i = 1; i <= NF; i++) if ($i ~ /^Suites:/) {
        n = split(substr($i, 8), suites, /[ \t]+/)
        for (j = 1; j <= n; j++) if (suites[j] == "bookworm") { print; exit }
      }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v '^#' || true)
  if [ -n "$stanza" ]; then
    printf '%s\n' "$stanza" | sed -e 's/^Suites:.*/Suites: trixie/' -e 's/^Components:.*/Components: main/'
    return
  fi
  local line uri key
  line=$(grep -hE '^deb[[:space:]].*[[:space:]]bookworm[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1 || true)
  if [ -z "$line" ]; then
    echo "install.sh: found no Debian bookworm source to model trixie's on" >&2
    return 1
  fi
  key=$(printf '%s\n' "$line" | sed -n 's/.*signed-by=\([^] ]*\).*/\1/p')
  uri=$(printf '%s\n' "$line" | sed -e 's/\[[^]]*\]//' | awk '{ print $2 }')
  printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$uri" "${key:-/usr/share/keyrings/debian-archive-keyring.gpg}"
}

ensure_file() {
  # ensure_file PATH CONTENT: writes it when it differs.
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
    echo "install.sh: writing $1"
    printf '%s\n' "$2" | "${as_root[@]}" tee "$1" >/dev/null
  fi
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done

need_node=false
[ "$(node_major)" -ge "$NODE_MIN" ] || need_node=true
had_npm=true
if [ "$need_node" = true ] && ! command -v npm >/dev/null 2>&1; then
  had_npm=false
  missing+=(npm)
fi

need_restic=false
restic_ok || need_restic=true
if [ "$need_restic" = true ]; then
  source=$(trixie_source)
  ensure_file /etc/apt/sources.list.d/trixie.sources "$source"
  ensure_file /etc/apt/preferences.d/trixie "$(printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100')"
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}"
  apt_update_once
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "$need_restic" = true ]; then
  echo "install.sh: installing restic $restic_minor from Debian trixie (found: $(restic_version || true))"
  apt_update_once
  "${as_root[@]}" apt-get install -y -q -t trixie --no-install-recommends restic
fi

# swift.conf is a conffile: once deleted, a plain install does not bring it back.
if [ ! -f /etc/swift/swift.conf ]; then
  echo "install.sh: restoring /etc/swift/swift.conf"
  apt_update_once
  "${as_root[@]}" apt-get install -y -q --no-install-recommends --reinstall -o Dpkg::Options::=--force-confmiss swift
fi

if [ "$need_node" = true ]; then
  extra=()
  # Debian's npm is only the way to the registry here: npm 11 replaces it on PATH.
  [ "$had_npm" = true ] || extra+=(npm@11)
  echo "install.sh: installing Node.js from the npm registry's $NODE_PACKAGE into $NODE_PREFIX (found: $(node --version 2>/dev/null || echo none))"
  # The package's preinstall script is what fetches the binary for this platform (npm 11 runs
  # it with a warning; its --allow-scripts breaks the nested install that script does).
  "${as_root[@]}" npm install -g --prefix "$NODE_PREFIX" --no-audit --no-fund "$NODE_PACKAGE" "${extra[@]}"
  hash -r
  if [ "$("$NODE_PREFIX/bin/node" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0)" -lt "$NODE_MIN" ]; then
    echo "install.sh: npm install -g $NODE_PACKAGE gave no working $NODE_PREFIX/bin/node" >&2
    exit 1
  fi
  if [ "$(node_major)" -lt "$NODE_MIN" ]; then
    echo "install.sh: Node.js $("$NODE_PREFIX/bin/node" --version) is $NODE_PREFIX/bin/node, but PATH finds $(command -v node) first: put $NODE_PREFIX/bin before it" >&2
    exit 1
  fi
fi

# Verify what the tests will call, with the same paths they use.
restic version
restic_ok || { echo "install.sh: restic $(restic_version) is older than $restic_minor (container/Dockerfile)" >&2; exit 1; }
echo "node $(node --version) ($(command -v node)), npm $(npm --version)"
# (no `| head`: with pipefail, rclone's SIGPIPE after head exits would fail the script)
rclone_version=$(rclone version)
echo "${rclone_version%%$'\n'*}"
openssl version
memcached -V
/usr/bin/python3 -c 'import swift; print("swift", swift.__version__)'
for server in proxy account container object; do
  test -x "/usr/bin/swift-$server-server" || { echo "install.sh: /usr/bin/swift-$server-server is missing" >&2; exit 1; }
done
test -f /etc/swift/swift.conf || { echo "install.sh: /etc/swift/swift.conf is missing" >&2; exit 1; }
echo "install.sh: test dependencies are installed"
