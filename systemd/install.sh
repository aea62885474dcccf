#!/usr/bin/env bash
# Install motcua's systemd units, udev rules and user; with --hub also the site broker's
# configuration and its first account. Run as root from a checkout installed in /opt/motcua:
#   sudo /opt/motcua/systemd/install.sh            # a device (kiosk, printer, scanner, LED, display)
#   sudo /opt/motcua/systemd/install.sh --hub      # the hub machine (Mosquitto on the same machine)
# Then: `motcua enroll …` on devices; enable units with `systemctl enable --now motcua-<role>.service`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prefix=$(cd "$here/.." && pwd)
hub=false
[[ "${1:-}" == "--hub" ]] && hub=true
[[ $(id -u) -eq 0 ]] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }

install -m 0644 "$here/motcua.sysusers" /usr/lib/sysusers.d/motcua.conf
systemd-sysusers /usr/lib/sysusers.d/motcua.conf
install -d -m 0750 -o root -g motcua /etc/motcua
install -d -m 0750 -o motcua -g motcua /var/lib/motcua

for unit in "$here"/motcua-*.service "$here"/motcua.target; do
  sed "s#/opt/motcua/#$prefix/#g" "$unit" > "/etc/systemd/system/$(basename "$unit")"
done
install -m 0644 "$here/udev/70-motcua.rules" /etc/udev/rules.d/70-motcua.rules
udevadm control --reload || true
udevadm trigger --action=change || true
systemctl daemon-reload
systemctl enable motcua.target

if $hub; then
  plugin=$(dpkg -L mosquitto | grep '/mosquitto_dynamic_security.so$' | head -n1)
  [[ -n "$plugin" ]] || { echo "install.sh: mosquitto's dynamic-security plugin not found" >&2; exit 1; }
  [[ -f /etc/mosquitto/mosquitto.conf ]] && cp -n /etc/mosquitto/mosquitto.conf /etc/mosquitto/mosquitto.conf.debian
  sed "s#^plugin .*#plugin $plugin#" "$here/mosquitto/mosquitto.conf" > /etc/mosquitto/mosquitto.conf
  site=$(sed -n 's/^site *= *"\(.*\)"/\1/p' /etc/motcua/hub.toml 2>/dev/null | head -n1)
  hub_id=$(sed -n 's/^device_id *= *"\(.*\)"/\1/p' /etc/motcua/hub.toml 2>/dev/null | head -n1)
  if [[ ! -f /var/lib/mosquitto/dynamic-security.json ]]; then
    [[ -n "$site" ]] || { echo "install.sh: write /etc/motcua/hub.toml (site, device_id) first" >&2; exit 1; }
    "$prefix/.venv/bin/python" -m hub.fleet init-broker --site "$site" --hub-user "${hub_id:-hub}"
  fi
  # The site CA and the hub's certificate (kept if already made): HTTPS for the hub's web and
  # MQTT over TLS for devices. Add `--host NAME` for names the devices use that this machine
  # does not know about itself (a DNS alias).
  "$prefix/.venv/bin/python" -m hub.web.tls --dir /var/lib/motcua/tls --site "${site:-motcua}"
  chown -R motcua:motcua /var/lib/motcua/tls
  install -d -m 0755 /etc/mosquitto/certs
  install -m 0644 /var/lib/motcua/tls/ca.crt /var/lib/motcua/tls/hub.crt /etc/mosquitto/certs/
  install -m 0640 -o root -g mosquitto /var/lib/motcua/tls/hub.key /etc/mosquitto/certs/hub.key
  install -d -m 0755 /etc/mosquitto/conf.d
  install -m 0644 "$here/mosquitto/motcua-tls.conf" /etc/mosquitto/conf.d/motcua-tls.conf
  systemctl restart mosquitto
fi
echo "motcua: installed. Enable this machine's roles: systemctl enable --now motcua-<role>.service"
