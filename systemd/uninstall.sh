#!/usr/bin/env bash
# Remove the hullwatch service installed by systemd/install.sh.
#
#   sudo systemd/uninstall.sh [--purge]
#
# Stops and disables the service, removes the unit, /opt/hullwatch and the
# /usr/local/bin/hullwatch link. The configuration (/etc/hullwatch) and the state
# (/var/lib/hullwatch: the outbox of undelivered alerts) stay, unless --purge.
# The i2c and dialout groups and the I2C setting stay: other software uses them.
# Safe to run again.
set -euo pipefail

PREFIX=/opt/hullwatch
CONFIG_DIR=/etc/hullwatch
UNIT_PATH=/etc/systemd/system/hullwatch.service
LINK=/usr/local/bin/hullwatch
purge=no

say() {
    printf 'hullwatch uninstall: %s\n' "$*"
}

die() {
    printf 'hullwatch uninstall: %s\n' "$*" >&2
    exit 1
}

for arg in "$@"; do
    case $arg in
        --purge) purge=yes ;;
        -h | --help)
            sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"

if command -v systemctl >/dev/null; then
    if [ -e "$UNIT_PATH" ]; then
        say "stopping and disabling the service"
        # SIGTERM: the daemon flushes to the broker and publishes `offline`.
        systemctl disable --now hullwatch || true
        rm -f "$UNIT_PATH"
        rm -rf "$UNIT_PATH.d"
        systemctl daemon-reload
        systemctl reset-failed hullwatch 2>/dev/null || true
    fi
fi

if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$PREFIX/venv/bin/hullwatch" ]; then
    rm -f "$LINK"
fi
if [ -d "$PREFIX" ]; then
    say "removing $PREFIX"
    rm -rf "$PREFIX"
fi

if [ "$purge" = yes ]; then
    # With DynamicUser= the state lives in /var/lib/private/hullwatch behind a symlink.
    for path in "$CONFIG_DIR" /var/lib/hullwatch /var/lib/private/hullwatch; do
        if [ -e "$path" ] || [ -L "$path" ]; then
            say "removing $path"
            rm -rf "$path"
        fi
    done
else
    for path in "$CONFIG_DIR" /var/lib/hullwatch; do
        if [ -e "$path" ]; then
            say "keeping $path (--purge removes it)"
        fi
    done
fi
say "done"
