#!/usr/bin/env bash
# Builds netns-exporter_<version>_amd64.deb with dpkg-deb (`npm run package:deb`). Debian 12's own
# nodejs is 18, so the package carries its runtime: this machine's Node.js 20 binary, the built
# dist/ and the production node_modules (other platforms' prebuilt binaries left out), all
# under /usr/lib/netns-exporter; /usr/bin/netns-exporter runs them. With them: the systemd unit as
# shipped (packaging/systemd), /etc/netns-exporter/config.yaml as a conffile (packaging/deb/config.yaml:
# nothing pushed, /metrics and /healthz on loopback), the logrotate snippet, the docs and examples.
# Depends: what the binaries link (dpkg-shlibdeps: libc6, and libstdc++6 and libgcc-s1 for node),
# iproute2 (ip) and util-linux (nsenter, which came with 2.23), all in Debian 12.
#
# Usage: packaging/deb/build-deb.sh [OUTPUT_DIR]     (default: the repository's root)
# NETNS_EXPORTER_DEB_VERSION overrides package.json's version (the upgrade test builds a next one);
# NETNS_EXPORTER_DEB_MAINTAINER the Maintainer field. Needs dpkg-dev, Node.js 20 on amd64, npm and
# the npm registry or npm's cache (production dependencies, from package-lock.json).
set -euo pipefail
# Folders the install -D lines below create are 0755 (/etc/netns-exporter too), whatever the caller's umask.
umask 022
cd "$(dirname "$0")/../.."
OUT="$(realpath "${1:-.}")"

NAME=netns-exporter
VERSION="${NETNS_EXPORTER_DEB_VERSION:-$(node -p 'require("./package.json").version')}"
MAINTAINER="${NETNS_EXPORTER_DEB_MAINTAINER:-netns-exporter maintainers <netns-exporter@example.org>}"
ARCH=amd64
LIB=/usr/lib/$NAME
DOC=/usr/share/doc/$NAME

fail() { echo "build-deb.sh: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps strip node npm; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install dpkg-dev; Node.js 20)"
done
[ "$(node -p 'process.platform + "-" + process.arch')" = linux-x64 ] || fail "builds the amd64 package on linux x64 only"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) === 20 ? 0 : 1)' || fail "needs Node.js 20, found $(node -v)"
node_bin="$(readlink -f "$(command -v node)")"
node_license=""
for candidate in "$(dirname "$node_bin")/../share/doc/node/LICENSE" /usr/share/doc/nodejs/LICENSE; do
  [ -f "$candidate" ] && { node_license="$candidate"; break; }
done
[ -n "$node_license" ] || fail "Node.js's LICENSE not found beside $node_bin or in /usr/share/doc/nodejs (the copyright file quotes it)"

WORK="$(mktemp -d /tmp/netns-exporter-deb-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"

# --- the agent and its runtime --------------------------------------------------------------------
npm run build >/dev/null
install -d "$ROOT$LIB/bin" "$ROOT$LIB/dist"
install -m 0755 "$node_bin" "$ROOT$LIB/bin/node"
cp -r dist/agent dist/shared "$ROOT$LIB/dist/"
find "$ROOT$LIB/dist" -name '*.map' -delete
install -m 0644 package.json package-lock.json "$ROOT$LIB/"
(cd "$ROOT$LIB" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
rm "$ROOT$LIB/package-lock.json" "$ROOT$LIB/node_modules/.package-lock.json"
# koffi ships a prebuilt binary for every platform; this package runs on linux x64 only. Its
# index.js is self-contained: the C++ and Python sources, the headers and the installer that builds
# from them (src/, lib/, vendor/) and its documentation are not needed to run it.
find "$ROOT$LIB/node_modules/koffi/build/koffi" -mindepth 1 -maxdepth 1 -type d ! -name linux_x64 -exec rm -rf {} +
rm -rf "$ROOT$LIB/node_modules/koffi/"{src,lib,vendor,doc}
# What running the dependencies does not need: their tests, documentation pages and packaging
# leftovers (license files stay).
find "$ROOT$LIB/node_modules" -mindepth 2 -type d \( -name test -o -name tests -o -name __tests__ -o -name docs -o -name benchmarks \) -prune -exec rm -rf {} +
find "$ROOT$LIB/node_modules" -type f \( \( -iname '*.md' ! -iname 'licen[cs]e*' \) -o -name '*.html' -o -name '*.map' \
  -o \( -name '*.ts' ! -name '*.d.ts' \) -o -name .npmignore -o -name .gitattributes -o -name '.eslintrc*' -o -name .travis.yml \) -delete
find "$ROOT$LIB/node_modules" -type d -empty -delete
# As debhelper's dh_strip does: no debugging symbols in the ELF files (node, the native modules).
strip --remove-section=.comment --remove-section=.note "$ROOT$LIB/bin/node"
find "$ROOT$LIB/node_modules" -name '*.node' -type f -exec strip --remove-section=.comment --remove-section=.note --strip-unneeded {} +
chmod -R u=rwX,go=rX "$ROOT$LIB"
chmod 0755 "$ROOT$LIB/dist/agent/bin.js" "$ROOT$LIB/dist/agent/main.js"
# node's own flags, those of the shebang of dist/agent/bin.js (a small young generation and one V8
# platform thread keep RSS down).
install -d "$ROOT/usr/bin"
cat >"$ROOT/usr/bin/$NAME" <<EOF
#!/bin/sh
exec $LIB/bin/node --max-semi-space-size=2 --v8-pool-size=1 $LIB/dist/agent/bin.js "\$@"
EOF
chmod 0755 "$ROOT/usr/bin/$NAME"

# --- systemd, config, logrotate -------------------------------------------------------------------
install -D -m 0644 packaging/systemd/$NAME.service "$ROOT/lib/systemd/system/$NAME.service"
install -D -m 0644 packaging/deb/config.yaml "$ROOT/etc/$NAME/config.yaml"
install -D -m 0644 packaging/logrotate/$NAME "$ROOT/etc/logrotate.d/$NAME"

# --- documentation ---------------------------------------------------------------------------------
install -d "$ROOT$DOC/examples"
install -m 0644 README.md docs/*.md "$ROOT$DOC/"
install -m 0644 packaging/examples/*.yaml "$ROOT$DOC/examples/"
gzip -9n -c CHANGELOG.md >"$ROOT$DOC/CHANGELOG.md.gz"
# A native package's changelog.gz is in Debian's format: one entry pointing at the project's own.
{
  printf '%s (%s) unstable; urgency=medium\n\n' "$NAME" "$VERSION"
  printf '  * Built from the repository; what changed is in CHANGELOG.md.gz beside\n    this file.\n\n'
  printf ' -- %s  %s\n' "$MAINTAINER" "$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n >"$ROOT$DOC/changelog.gz"
install -m 0644 "$node_license" "$ROOT$DOC/LICENSE.nodejs"
{
  echo "netns-exporter $VERSION, packaged with dpkg-deb from its repository (packaging/deb/build-deb.sh)."
  echo
  echo "Files: *"
  echo "Copyright: $(date -u +%Y -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)") the netns-exporter authors"
  echo "License: MIT"
  echo
  echo "Files: usr/lib/netns-exporter/bin/node"
  echo "Node.js $(node -v), copied from the build machine: MIT, with the licenses of the libraries it"
  echo "bundles; the whole text is in LICENSE.nodejs beside this file."
  echo
  echo "Files: usr/lib/netns-exporter/node_modules/*: each package's license, named in its package.json;"
  echo "the license text is in each package's folder:"
  node -e '
    const fs = require("fs"), path = require("path");
    const top = process.argv[1];
    const names = fs.readdirSync(top).flatMap((name) => name.startsWith("@") ? fs.readdirSync(path.join(top, name)).map((sub) => `${name}/${sub}`) : [name]);
    for (const name of names.sort()) {
      const file = path.join(top, name, "package.json");
      if (!fs.existsSync(file)) continue;
      const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
      console.log(`  ${name} ${pkg.version}: ${pkg.license ?? "see its folder"}`);
    }' "$ROOT$LIB/node_modules"
  echo "On Debian systems the full text of the Apache License 2.0 is in"
  echo "/usr/share/common-licenses/Apache-2.0, and the BSD licenses' are in each package's folder."
  echo
  echo "License: MIT"
  echo " Permission is hereby granted, free of charge, to any person obtaining a copy of this software"
  echo " and associated documentation files (the \"Software\"), to deal in the Software without"
  echo " restriction, including without limitation the rights to use, copy, modify, merge, publish,"
  echo " distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the"
  echo " Software is furnished to do so, subject to the following conditions:"
  echo " ."
  echo " The above copyright notice and this permission notice shall be included in all copies or"
  echo " substantial portions of the Software."
  echo " ."
  echo " THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING"
  echo " BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND"
  echo " NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,"
  echo " DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,"
  echo " OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."
} >"$ROOT$DOC/copyright"
install -D -m 0644 packaging/deb/lintian-overrides "$ROOT/usr/share/lintian/overrides/$NAME"

# --- control -------------------------------------------------------------------------------------
install -d "$ROOT/DEBIAN"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$ROOT/DEBIAN/"
printf '%s\n' "/etc/$NAME/config.yaml" "/etc/logrotate.d/$NAME" >"$ROOT/DEBIAN/conffiles"
# What the binaries link, as dpkg-shlibdeps reads it from the host's shlibs files.
mkdir -p "$WORK/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: %s\n' "$NAME" "$NAME" "$ARCH" >"$WORK/shlibs/debian/control"
mapfile -t elves < <(find "$ROOT$LIB" -type f \( -name node -o -name '*.node' \))
shlibs="$(cd "$WORK/shlibs" && dpkg-shlibdeps -O "${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || fail "dpkg-shlibdeps found no library dependency for ${elves[*]}"
installed_kb="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
cat >"$ROOT/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_kb
Depends: $shlibs, iproute2, util-linux (>= 2.23)
Section: net
Priority: optional
Description: Prometheus metrics of every network namespace, pushed or served
 netns-exporter measures every Linux network namespace on a host (OpenStack
 Neutron routers and DHCP servers, container and CNI sandboxes): interface
 counters, conntrack, netstat. It pushes the figures to a Prometheus
 Pushgateway or a remote_write endpoint, or serves them on /metrics, with
 /healthz for load balancers. It runs as a systemd service with one
 capability (CAP_SYS_ADMIN) and carries its own Node.js 20 runtime.
EOF
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles"

# The agent in its place, with the package's own node: it starts and the default config is valid.
"$ROOT$LIB/bin/node" "$ROOT$LIB/dist/agent/bin.js" --check-config --config "$ROOT/etc/$NAME/config.yaml" >/dev/null \
  || fail "the packaged agent refuses the package's default config"

mkdir -p "$OUT"
deb="$OUT/${NAME}_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip -z9 --build "$ROOT" "$deb" >/dev/null
echo "$deb"
