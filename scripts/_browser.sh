# Sourced by scripts/test: the headless browser of the status page's test (tests/integration/test_serve_page_browser.py),
# Debian's chromium and chromedriver. Installed here when missing and running as root (CI, this project's machines);
# otherwise scripts/test stops with the command to run: that test is never skipped.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "chromium/chromedriver missing: installing Debian's chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "Error: chromium or chromedriver is missing, and the status page's test needs both — as root: apt-get" \
      "install chromium chromium-driver (Debian), or put both on the PATH" >&2
    exit 2
  fi
fi
echo "browser: $(chromium --version 2>/dev/null | head -n 1); $(chromedriver --version | head -n 1)"
