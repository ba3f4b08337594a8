#!/usr/bin/env bash
# `npm run bench:gpu` on a lent GPU machine, which has PyTorch, timm and an NVIDIA driver but no Node and no network
# (docs/gpu.md, "Measuring on a lent GPU"). Two steps, and a part of the first:
#   scripts/device-bench.sh pack          here: writes .device/ (ignored by git; carry it): Node, the benches bundled
#                                         (bench/gpu.ts and the bench/finetune.ts it runs for its case `finetune`),
#                                         onnxruntime-node's Linux x64 build, the Vulkan loader
#   scripts/device-bench.sh bundle DIR    only the benches' bundle, into DIR (pack's step the tests check)
#   scripts/device-bench.sh run [ARGS]    there, from the repository root: unpacks, sets Vulkan up, runs
#                                         bench/gpu.ts's bundle with ARGS, and writes its JSON lines to $OUT
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.device

# each bench and the vitkit modules it imports, as one ES module named as its source (gpu.mjs finds finetune.mjs
# beside it), and the Python files it runs; onnxruntime-node stays a package (native code)
bundle() {
  for bench in gpu finetune; do
    node_modules/.bin/esbuild "bench/$bench.ts" --bundle --platform=node --format=esm --target=node20 \
      --external:onnxruntime-node --log-level=warning --outfile="$1/$bench.mjs"
  done
  cp bench/gpu_torch.py bench/torch_train_step.py "$1/" # beside the bundle, where it looks for them
}

pack() {
  rm -rf "$CARRY" && mkdir -p "$CARRY/gl"
  # Node is one binary (linked to libc and libstdc++ only): xz makes 99 MB into about a quarter
  tar -cJf "$CARRY/node.tar.xz" -C "$(dirname "$(command -v node)")" node
  bundle "$CARRY"
  # onnxruntime-node with only the Linux x64 binaries (its WebGPU EP, Dawn, is inside libonnxruntime.so)
  tar -cJf "$CARRY/node_modules.tar.xz" -C node_modules/.. \
    --exclude='onnxruntime-node/bin/napi-v*/darwin' --exclude='onnxruntime-node/bin/napi-v*/win32' \
    --exclude='onnxruntime-node/bin/napi-v*/linux/arm64' --exclude='*.map' \
    node_modules/onnxruntime-node node_modules/onnxruntime-common
  # the Vulkan loader, in case the machine lacks one (the device README's recipe)
  (cd "$CARRY/gl" && apt-get download -q -o APT::Sandbox::User=root libvulkan1 >/dev/null)
  du -sh "$CARRY" && du -sh "$CARRY"/*
}

run() {
  : "${OUT:?OUT must name the folder the results go to}"
  PATH="$PATH:/usr/sbin:/sbin" # ldconfig, where a login shell's PATH leaves it out
  local node_dir=/tmp/vitkit-node
  mkdir -p "$node_dir" && tar -xJf "$CARRY/node.tar.xz" -C "$node_dir"
  tar -xJf "$CARRY/node_modules.tar.xz" -C "$CARRY"
  if ! ldconfig -p | grep -q libvulkan.so.1; then
    for f in "$CARRY"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
    # VK_DRIVER_FILES for current Vulkan loaders, VK_ICD_FILENAMES for loaders older than 1.3.207
    export VK_DRIVER_FILES=$nvidia_icd VK_ICD_FILENAMES=$nvidia_icd
  fi
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
  # -a: one call may run the bench more than once (docs/gpu.md); $OUT starts empty each call
  "$node_dir/node" "$CARRY/gpu.mjs" "$@" 2> >(grep -v 'W:onnxruntime' >&2) | tee -a "$OUT/bench-gpu.jsonl"
}

case "${1:-}" in
  pack) pack ;;
  bundle) bundle "${2:?usage: scripts/device-bench.sh bundle DIR}" ;;
  run) shift && run "$@" ;;
  *) echo "usage: scripts/device-bench.sh pack | bundle DIR | run [bench:gpu flags]" >&2 && exit 2 ;;
esac
