#!/usr/bin/env bash
# Installs Janua from this checkout: dependencies, build, and a `janua` command on your PATH.
# Idempotent: run it again after a `git pull`.
#   ./install.sh [--prefix DIR]    DIR defaults to /usr/local/bin when writable, else ~/.local/bin
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'install.sh: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1; then
  say "Node.js is not installed. Janua needs Node.js 20.19 or newer (https://nodejs.org or your package manager)."
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  say "Node.js $(node --version) is too old: Janua needs 20.19 or newer."
  exit 1
fi
command -v npm >/dev/null 2>&1 || { say "npm is missing (it ships with Node.js)."; exit 1; }

cd "$here"
if [ -f package-lock.json ]; then
  say "installing dependencies (npm ci; native modules may compile, this can take a few minutes)"
  npm ci --no-audit --no-fund --loglevel=error >&2
else
  npm install --no-audit --no-fund --loglevel=error >&2
fi
say "building"
npm run --silent build >&2

if [ -z "$prefix" ]; then
  if [ -w /usr/local/bin ]; then prefix=/usr/local/bin; else prefix="$HOME/.local/bin"; fi
fi
mkdir -p "$prefix"
chmod +x "$here/bin/janua.js"
ln -sfn "$here/bin/janua.js" "$prefix/janua"
say "linked $prefix/janua -> $here/bin/janua.js ($("$prefix/janua" --version))"
case ":$PATH:" in
  *":$prefix:"*) say "done: run \`janua serve\` (zero configuration: SQLite in ~/.local/share/janua, http://127.0.0.1:8000)" ;;
  *) say "done, but $prefix is not on your PATH: add it (export PATH=\"$prefix:\$PATH\") or run $prefix/janua serve" ;;
esac
