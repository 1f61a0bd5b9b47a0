#!/usr/bin/env bash
# Runs a command with wrangler's and Miniflare's calls home turned off. Every script goes through here.
export WRANGLER_SEND_METRICS=false
export WRANGLER_SEND_ERROR_REPORTS=false
export WRANGLER_HIDE_BANNER=true
export CLOUDFLARE_CF_FETCH_ENABLED=false
export VITE_CONFIG_NATIVE_IGNORE_WARNING=true
exec "$@"
