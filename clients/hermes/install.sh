#!/usr/bin/env bash
# Installs the dingtalk-fallback-bridge integration into Hermes, or removes it. Runs from any directory.
#
#   HERMES_HOME=~/.hermes clients/hermes/install.sh --plugin            # the user plugin (recommended)
#   HERMES_HOME=~/.hermes clients/hermes/install.sh --plugin --remove
#   clients/hermes/install.sh --plugin --installed-client               # use the pip-installed dingtalk_bridge
#   clients/hermes/install.sh /path/to/hermes-agent                     # the patch, for older Hermes
#   clients/hermes/install.sh --remove /path/to/hermes-agent
#
# The plugin is copied (never linked) to $HERMES_HOME/plugins/dingtalk-bridge (HERMES_HOME defaults
# to ~/.hermes) and touches no file of Hermes. Nothing changes in Hermes's behaviour until
# bridge_url is set (see clients/hermes/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
client="$here/../python/dingtalk_bridge"
shared=(bridge_relay.py journal.py relay_settings.py stream_watch.py turns.py)
plugin_mode=false remove=false copy_client=true
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --plugin) plugin_mode=true ;;
    --remove) remove=true ;;
    --installed-client) copy_client=false ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done

copy_common() {  # the relay's modules and, unless told otherwise, the client package, into $1
  cp "${shared[@]/#/$here/}" "$1/"
  rm -rf "$1/dingtalk_bridge"
  if $copy_client; then
    mkdir "$1/dingtalk_bridge"
    cp "$client"/*.py "$1/dingtalk_bridge/"
  fi
}

if $plugin_mode; then
  home=${HERMES_HOME:-$HOME/.hermes}
  target="$home/plugins/dingtalk-bridge"
  enable_cmd="hermes plugins enable dingtalk-bridge"
  if $remove; then
    rm -rf "$target"
    echo "removed $target"
    if command -v hermes > /dev/null; then HERMES_HOME="$home" hermes plugins disable dingtalk-bridge > /dev/null 2>&1 || true; fi
    exit 0
  fi
  mkdir -p "$target"
  cp "$here/plugin/__init__.py" "$here/plugin/bridged_adapter.py" "$here/plugin/plugin.yaml" "$target/"
  copy_common "$target"
  echo "installed the dingtalk-bridge plugin into $target"
  if command -v hermes > /dev/null && HERMES_HOME="$home" hermes plugins enable dingtalk-bridge > /dev/null 2>&1; then
    echo "enabled it ($enable_cmd)"
  else
    echo "enable it with: HERMES_HOME=$home $enable_cmd"
  fi
  echo "then set bridge_url (platforms.dingtalk.extra) and DINGTALK_BRIDGE_TOKEN, and restart the gateway"
  exit 0
fi

root=${1:?usage: install.sh --plugin [--remove] | install.sh [--remove] HERMES_ROOT}
plugin="$root/plugins/platforms/dingtalk"
[ -f "$plugin/adapter.py" ] || { echo "no $plugin/adapter.py: give the root of a Hermes checkout" >&2; exit 2; }

if $remove; then
  if grep -q "bridge_relay" "$plugin/adapter.py"; then
    (cd "$root" && patch -R -p1 --quiet < "$here/adapter.patch")
  fi
  rm -rf "${shared[@]/#/$plugin/}" "$plugin/dingtalk_bridge.py" "$plugin/dingtalk_bridge"
  echo "removed the patch from $plugin"
  exit 0
fi

if grep -q "bridge_relay" "$plugin/adapter.py"; then
  echo "adapter.py is already patched; refreshing the files"
elif ! (cd "$root" && patch -p1 --dry-run --quiet < "$here/adapter.patch" > /dev/null); then
  echo "adapter.patch does not apply to this Hermes's adapter.py (it changed upstream); nothing was touched" >&2
  exit 1
else
  (cd "$root" && patch -p1 --quiet < "$here/adapter.patch")
fi
rm -f "$plugin/dingtalk_bridge.py"  # the one-file client of 0.2
copy_common "$plugin"
echo "installed into $plugin: set bridge_url and DINGTALK_BRIDGE_TOKEN, then restart the gateway"
