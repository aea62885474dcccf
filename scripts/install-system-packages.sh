#!/usr/bin/env bash
# Installs the Debian packages motcua needs, only those missing. Run as root (make does it for you
# when it runs as root); as another user it prints the command to run instead.
set -euo pipefail

packages=(
  mosquitto mosquitto-clients          # the site broker; tests start their own
  python3-venv python3-dev gcc         # the virtual environment; evdev builds from source
  fonts-dejavu-core                    # Vietnamese glyphs for tickets, kiosk and display
  chromium chromium-driver             # headless browser tests of the web pages
  espeak-ng sox alsa-utils             # default voice pack, audio checks, aplay to the speakers
  libgl1 libegl1 libgl1-mesa-dri xvfb  # kivy offscreen (Mesa llvmpipe)
  tesseract-ocr tesseract-ocr-vie      # tests read printed Vietnamese back
  poppler-utils                        # tests read report PDFs back (pdftotext, pdftoppm)
  libzbar0                             # optional pyzbar barcode backend
  systemd udev                         # systemd-analyze and udevadm check the shipped units and rules
  faketime libfaketime                 # tests step the hub's wall clock while it runs (LD_PRELOAD)
  postgresql                           # the province service's store; tests and province-demo run their own
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "motcua: missing Debian packages: ${missing[*]}" >&2
  echo "motcua: run: sudo apt-get install -y ${missing[*]}   (continuing without them)" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Some names differ between Debian, Ubuntu and Raspberry Pi OS (Ubuntu ships chromium as a snap):
# install what this distribution has, and say what it has not.
available=()
for p in "${missing[@]}"; do
  if apt-cache show "$p" >/dev/null 2>&1; then available+=("$p"); else echo "motcua: no package $p here, skipped" >&2; fi
done
if [[ ${#available[@]} -gt 0 ]]; then
  apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null
fi
