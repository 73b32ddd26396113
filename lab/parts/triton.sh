# shellcheck shell=bash
# Part: Triton Inference Server as a release tarball, shaped like Triton's Jetson
# release tarballs (tritonserver/{bin,lib,backends,caches}), packed from the
# real tritonserver binary and python backend that the nvidia-pytriton wheel
# carries (project venv). Cached per pytriton version; rebuilt only when missing.
# Tests run it as a host process through lab/triton/run-tritonserver.sh.
# See lab/triton/README.md.
TRITON_VENV="${TRITON_VENV:-$REPO_ROOT/.venv}"
# Python of the nodes (Debian 12 bookworm: 3.11): picks the python backend stub.
TRITON_PY_VERSION="${TRITON_PY_VERSION:-3.11}"
TRITON_LAUNCHER="$LAB_SRC/triton/run-tritonserver.sh"
TRITON_ENV_FILE="$LAB_DIR/env.d/triton.env"
# Ports of the build-time self-check (tests use 18000-18002).
TRITON_CHECK_PORTS=(18100 18101 18102)

triton_wheel() {  # prints "<pytriton version> <pytriton package dir>"
  [[ -x $TRITON_VENV/bin/python ]] || die "triton: no project venv at $TRITON_VENV: run make venv (uv sync)"
  "$TRITON_VENV/bin/python" - <<'PY' || die "triton: nvidia-pytriton is not installed in $TRITON_VENV"
import importlib.metadata as m, importlib.util as u
print(m.version("nvidia-pytriton"), u.find_spec("pytriton").submodule_search_locations[0])
PY
}

triton_arch() { uname -m; }

# The cached tarball of this pytriton version whose .sha256 checks, or nothing.
triton_cached_tarball() {
  local dir=$1 t
  for t in "$dir"/tritonserver-*-"$(triton_arch)".tar.gz; do
    [[ -f $t && -f $t.sha256 ]] || continue
    (cd "$dir" && sha256sum --status -c "$(basename "$t").sha256") && { echo "$t"; return 0; }
  done
  return 1
}

# The python backend stub embeds the system's libpython and imports numpy from
# the system Python: what a node needs, the lab host needs too.
triton_host_deps() {
  [[ -e /usr/lib/$(uname -m)-linux-gnu/libpython$TRITON_PY_VERSION.so.1.0 ]] \
    || die "triton: libpython$TRITON_PY_VERSION missing (the python backend stub links it): run make setup"
  "/usr/bin/python$TRITON_PY_VERSION" -c 'import numpy' 2>/dev/null \
    || die "triton: the system Python has no numpy (python backend models import it): run make setup"
}

# triton_stage PKGDIR STAGE: lay out tritonserver/ from the wheel.
triton_stage() {
  local pkg=$1 stage=$2
  local srv="$pkg/tritonserver"
  local stub="$srv/python_backend_stubs/$TRITON_PY_VERSION/triton_python_backend_stub"
  [[ -x $srv/bin/tritonserver ]] || die "triton: $srv/bin/tritonserver missing in the wheel"
  [[ -x $stub ]] || die "triton: no python backend stub for Python $TRITON_PY_VERSION in the wheel"
  rm -rf "$stage"
  local root="$stage/tritonserver"
  mkdir -p "$root/bin" "$root/lib" "$root/backends/python" "$root/caches/local"
  install -m 0755 "$srv/bin/tritonserver" "$root/bin/"
  install -m 0644 "$srv/backends/python/libtriton_python.so" \
    "$srv/backends/python/triton_python_backend_utils.py" "$root/backends/python/"
  install -m 0755 "$stub" "$root/backends/python/"
  install -m 0644 "$srv/caches/local/libtritoncache_local.so" "$root/caches/local/"
  # The wheel's own libraries (auditwheel-renamed) that these binaries load.
  local lib
  while read -r lib; do install -m 0644 "$lib" "$root/lib/"; done < <(
    ldd "$srv/bin/tritonserver" "$srv/backends/python/libtriton_python.so" "$stub" \
        "$srv/caches/local/libtritoncache_local.so" \
      | awk '$3 ~ /nvidia_pytriton\.libs\// { print $3 }' | sort -u)
  [[ -n $(ls "$root/lib") ]] || die "triton: found no wheel libraries to pack"
}

# triton_selfcheck TARBALL: unpack it through the launcher, serve lab/models/linear
# from the local filesystem, infer, and make sure nothing comes from the wheel.
# Prints the server's version.
triton_selfcheck() {
  local tarball=$1 log="$LAB_DIR/logs/triton-selfcheck.log" url="http://127.0.0.1:${TRITON_CHECK_PORTS[0]}"
  : > "$log"
  TRITON_TARBALL=$tarball start_daemon triton-selfcheck "$log" "$TRITON_LAUNCHER" \
    --model-repository="$LAB_SRC/models" --model-control-mode=explicit --load-model=linear \
    --http-port="${TRITON_CHECK_PORTS[0]}" --grpc-port="${TRITON_CHECK_PORTS[1]}" \
    --metrics-port="${TRITON_CHECK_PORTS[2]}"
  local pid; pid=$(cat "$LAB_DIR/run/triton-selfcheck.pid")
  if ! wait_for "tritonserver (self-check from the unpacked tarball)" 180 >&2 \
       curl -fsS "$url/v2/models/linear/ready"; then
    stop_daemon triton-selfcheck; cat "$log" >&2
    die "triton: the packed server did not serve lab/models/linear: see $log"
  fi
  local out version p
  out=$(curl -fsS -X POST "$url/v2/models/linear/infer" -H 'Content-Type: application/json' \
        -d '{"inputs":[{"name":"INPUT0","shape":[2,1],"datatype":"FP32","data":[1,2.5]}]}') || true
  version=$(curl -fsS "$url/v2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])') || true
  local from_wheel=""
  for p in $(ps -o pid= --sid "$pid"); do
    grep -q -e site-packages -e nvidia_pytriton.libs "/proc/$p/maps" 2>/dev/null && from_wheel+=" $p"
  done
  stop_daemon triton-selfcheck
  [[ $out == *'"data":[3.0,6.0]'* ]] || die "triton: self-check inference answered '$out' (want 3.0,6.0); log $log"
  [[ -z $from_wheel ]] || die "triton: processes$from_wheel mapped files from the wheel, not the tarball"
  [[ -n $version ]] || die "triton: could not read the server version; log $log"
  echo "$version"
}

triton_up() {
  local pyt_ver pkg
  read -r pyt_ver pkg < <(triton_wheel)
  [[ -n ${pkg:-} ]] || die "triton: nvidia-pytriton not found in $TRITON_VENV"
  triton_host_deps
  local dir="$LAB_CACHE/triton/$pyt_ver" arch; arch=$(triton_arch)
  mkdir -p "$dir"
  local tarball
  if ! tarball=$(triton_cached_tarball "$dir"); then
    local t=$SECONDS
    say "triton: packing a release tarball from nvidia-pytriton $pyt_ver (python backend for $TRITON_PY_VERSION)"
    triton_stage "$pkg" "$dir/.stage"
    local tmp="$dir/.tritonserver-new.tar.gz"
    tar -C "$dir/.stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
      -czf "$tmp" tritonserver
    rm -rf "$dir/.stage"
    say "triton: packed $(du -h "$tmp" | cut -f1) in $(( SECONDS - t ))s; self-check"
    sha256sum "$tmp" | cut -d' ' -f1 > "$tmp.sha256"   # the launcher keys its unpack on it
    local version; version=$(triton_selfcheck "$tmp")
    tarball="$dir/tritonserver-$version-$arch.tar.gz"
    mv "$tmp" "$tarball"; rm -f "$tmp.sha256"
    (cd "$dir" && sha256sum "$(basename "$tarball")" > "$(basename "$tarball").sha256")
    say "triton: $tarball ready in $(( SECONDS - t ))s (Triton $version)"
  else
    say "triton: cached $tarball"
  fi
  local base version sum
  base=$(basename "$tarball" .tar.gz); version=${base#tritonserver-}; version=${version%-"$arch"}
  sum=$(cut -d' ' -f1 "$tarball.sha256")
  cat > "$TRITON_ENV_FILE" <<ENV
TRITON_VERSION=$version
TRITON_ARCH=$arch
TRITON_PYTHON_VERSION=$TRITON_PY_VERSION
TRITON_TARBALL=$tarball
TRITON_TARBALL_SHA256=$sum
TRITON_LAUNCHER=$TRITON_LAUNCHER
TRITON_MODELS=$LAB_SRC/models
TRITON_HOME=$dir/unpacked/tritonserver
TRITON_LD_LIBRARY_PATH=$dir/unpacked/tritonserver/lib
ENV
}

triton_down() {
  stop_daemon triton-selfcheck
  rm -f "$TRITON_ENV_FILE"   # the tarball stays cached, keyed by version
}

triton_status() {
  [[ -f $TRITON_ENV_FILE ]] || { echo "not published: run lab.sh up triton"; return 1; }
  local tarball version
  tarball=$(sed -n 's/^TRITON_TARBALL=//p' "$TRITON_ENV_FILE")
  version=$(sed -n 's/^TRITON_VERSION=//p' "$TRITON_ENV_FILE")
  [[ -f $tarball && -f $tarball.sha256 ]] || { echo "tarball missing: $tarball"; return 1; }
  (cd "$(dirname "$tarball")" && sha256sum --status -c "$(basename "$tarball").sha256") \
    || { echo "checksum mismatch: $tarball"; return 1; }
  echo "tritonserver $version tarball $(du -h "$tarball" | cut -f1) at $tarball"
}
