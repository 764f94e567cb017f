#!/usr/bin/env bash
# Installs the system packages the tests need, from Debian, when they are missing:
#   restic                  the binary the runner calls (integration tier);
#   rclone                  `rclone serve restic`, the REST backend server;
#   openssl                 self-signed certificates for s3rver over TLS;
#   memcached + swift-*     a one-node OpenStack Swift with tempauth (which needs memcached).
# s3rver and azurite come from npm (devDependencies).
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

PACKAGES=(
  restic
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

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
  echo "install.sh: not root and no sudo: cannot install ${PACKAGES[*]}" >&2
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

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}"
  apt_update_once
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# swift.conf is a conffile: once deleted, a plain install does not bring it back.
if [ ! -f /etc/swift/swift.conf ]; then
  echo "install.sh: restoring /etc/swift/swift.conf"
  apt_update_once
  "${as_root[@]}" apt-get install -y -q --no-install-recommends --reinstall -o Dpkg::Options::=--force-confmiss swift
fi

# Verify what the tests will call, with the same paths they use.
restic version
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
