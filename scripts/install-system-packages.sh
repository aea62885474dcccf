#!/usr/bin/env bash
# Installs the Debian packages motcua needs, only those missing. Run as root (make does it for you
# when it runs as root); as another user it prints the command to run instead.
set -euo pipefail

packages=(
  # Build and run: the Makefile's venv; evdev (sdist only) compiles against the kernel's input.h.
  python3 python3-venv python3-dev gcc libc6-dev
  ca-certificates                      # pip's HTTPS to PyPI
  mosquitto mosquitto-clients          # the site broker; tests start their own
  fonts-dejavu-core                    # Vietnamese glyphs for tickets, kiosk and display
  chromium chromium-driver             # headless browser tests of the web pages
  espeak-ng sox alsa-utils             # default voice pack, audio checks, aplay to the speakers
  tesseract-ocr tesseract-ocr-vie      # tests read printed Vietnamese back
  poppler-utils                        # tests read report PDFs back (pdftotext, pdftoppm)
  faketime                             # the faketime command (libfaketime below does the work)
  systemd udev                         # systemd-analyze and udevadm check the shipped units and rules
  libfaketime                          # tests step a hub's wall clock (a Pi booting without RTC)
  # Libraries the Python wheels load but do not bundle (found with ldd on every .so in the venv and
  # by reading each dependency's ctypes/dlopen calls; Pillow, numpy, zxing-cpp are self-contained):
  libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri  # kivy's bundled SDL2 draws with GL/EGL (Mesa llvmpipe)
  libx11-6 libxrender1 libxext6        # kivy's window module links X11 and XRender
  libmtdev1                            # kivy loads libmtdev.so.1 for multitouch screens on Linux
  xvfb                                 # a display for kivy windows where no offscreen driver works
  libusb-1.0-0                         # pyusb's backend for USB receipt printers (and pyftdi)
  libzbar0                             # pyzbar, the fallback barcode decoder
  x11-utils                            # xdpyinfo: the windowed demo sizes its windows to the screen
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
