#!/usr/bin/env bash
# Install hullwatch as a systemd service on Raspberry Pi OS (or any Debian with systemd).
#
#   sudo systemd/install.sh [--no-start]
#
# - a virtualenv with the package in /opt/hullwatch/venv (`hullwatch` also on PATH
#   through /usr/local/bin/hullwatch), the docs in /opt/hullwatch/docs;
# - /etc/hullwatch/hullwatch.toml from config/testbed.toml, only if there is none;
# - the i2c and dialout groups, I2C enabled (raspi-config, when present);
# - systemd/hullwatch.service in /etc/systemd/system, enabled and (re)started.
#
# Safe to run again: an upgrade replaces the package, the unit and the docs,
# keeps the configuration and the state, and restarts a running service.
# Undo with systemd/uninstall.sh. docs/systemd.md explains the unit.
set -euo pipefail

PREFIX=/opt/hullwatch
VENV=$PREFIX/venv
CONFIG_DIR=/etc/hullwatch
CONFIG=$CONFIG_DIR/hullwatch.toml
UNIT_PATH=/etc/systemd/system/hullwatch.service
LINK=/usr/local/bin/hullwatch
PYTHON=${PYTHON:-python3}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=yes

usage() {
    sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

say() {
    printf 'hullwatch install: %s\n' "$*"
}

die() {
    printf 'hullwatch install: %s\n' "$*" >&2
    exit 1
}

for arg in "$@"; do
    case $arg in
        --no-start) start=no ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"
[ -f "$repo/pyproject.toml" ] || die "$repo is not a hullwatch checkout"
command -v systemctl >/dev/null || die "systemctl not found: this needs a systemd system"

# --- Python and the virtualenv ---------------------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$PYTHON is older than 3.11 (Raspberry Pi OS bookworm has 3.11)"
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    command -v apt-get >/dev/null || die "$PYTHON has no venv module: install it"
    say "installing python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
install -d -m 0755 "$PREFIX"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
say "installing the package from $repo"
"$VENV/bin/pip" install --quiet --upgrade pip
# A copy of the checkout, not an editable install: the service must not depend on it.
# A local directory is rebuilt and reinstalled every time; dependencies only move
# when the new version needs it.
"$VENV/bin/pip" install --quiet --upgrade "$repo"
install -d -m 0755 "$PREFIX/docs"
install -m 0644 "$repo/README.md" "$PREFIX/README.md"
install -m 0644 "$repo"/docs/*.md "$PREFIX/docs/"
ln -sfn "$VENV/bin/hullwatch" "$LINK"

# --- configuration: the user's file is never overwritten -------------------------------
install -d -m 0755 "$CONFIG_DIR"
if [ -e "$CONFIG" ]; then
    say "keeping $CONFIG"
else
    say "installing $CONFIG from config/testbed.toml"
    # Read by the service's dynamic user: secrets go in a password_file or the
    # environment (docs/systemd.md), not here.
    install -m 0644 "$repo/config/testbed.toml" "$CONFIG"
fi
if ! "$VENV/bin/hullwatch" check-config "$CONFIG"; then
    die "$CONFIG is invalid (see above): fix it, then run this again"
fi

# --- hardware access -------------------------------------------------------------------
for group in i2c dialout; do
    if ! getent group "$group" >/dev/null; then
        say "creating the system group $group"
        groupadd --system "$group"
    fi
done
if command -v raspi-config >/dev/null; then
    say "enabling I2C (raspi-config nonint do_i2c 0)"
    raspi-config nonint do_i2c 0
else
    say "no raspi-config: make sure /dev/i2c-N exists (modprobe i2c-dev) and belongs to group i2c"
fi

# --- the service -----------------------------------------------------------------------
install -m 0644 "$repo/systemd/hullwatch.service" "$UNIT_PATH"
systemctl daemon-reload
if [ "$start" = yes ]; then
    was_active=no
    if systemctl is-active --quiet hullwatch; then
        was_active=yes
    fi
    systemctl enable --now hullwatch
    if [ "$was_active" = yes ]; then
        say "restarting the running service on the new version"
        systemctl restart hullwatch
    fi
else
    systemctl enable hullwatch
fi

cat <<EOF

hullwatch is installed$([ "$start" = yes ] && echo " and running" || echo " (not started)").
  configuration   $CONFIG   (then: sudo systemctl reload hullwatch)
  state           /var/lib/hullwatch
  watch the log   journalctl -u hullwatch -f
  status line     systemctl status hullwatch
  alerts          hullwatch watch --station $(sed -n 's/^station *= *"\(.*\)"/\1/p' "$CONFIG" | head -n 1)
  remove          sudo $repo/systemd/uninstall.sh [--purge]
EOF
