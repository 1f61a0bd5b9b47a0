#!/usr/bin/env bash
# Installs the dingtalk-fallback-bridge drop-in into a Hermes checkout, or removes it.
#
#   clients/hermes/install.sh /path/to/hermes-agent            # patch adapter.py, copy the two files
#   clients/hermes/install.sh --remove /path/to/hermes-agent    # undo both
#
# Nothing changes in Hermes's behaviour until bridge_url is set (see clients/hermes/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
remove=false
if [ "${1:-}" = "--remove" ]; then remove=true; shift; fi
root=${1:?usage: install.sh [--remove] HERMES_ROOT}
plugin="$root/plugins/platforms/dingtalk"
[ -f "$plugin/adapter.py" ] || { echo "no $plugin/adapter.py: give the root of a Hermes checkout" >&2; exit 2; }

if $remove; then
  if grep -q "bridge_relay" "$plugin/adapter.py"; then
    (cd "$root" && patch -R -p1 --quiet < "$here/adapter.patch")
  fi
  rm -f "$plugin/bridge_relay.py" "$plugin/dingtalk_bridge.py"
  echo "removed the drop-in from $plugin"
  exit 0
fi

if grep -q "bridge_relay" "$plugin/adapter.py"; then
  echo "adapter.py is already patched; refreshing the two files"
elif ! (cd "$root" && patch -p1 --dry-run --quiet < "$here/adapter.patch" > /dev/null); then
  echo "adapter.patch does not apply to this Hermes's adapter.py (it changed upstream); nothing was touched" >&2
  exit 1
else
  (cd "$root" && patch -p1 --quiet < "$here/adapter.patch")
fi
cp "$here/bridge_relay.py" "$here/../python/dingtalk_bridge.py" "$plugin/"
echo "installed into $plugin: set bridge_url and DINGTALK_BRIDGE_TOKEN, then restart the gateway"
