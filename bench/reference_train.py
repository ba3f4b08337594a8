"""Reference training throughput for vitkit's bench: the PyTorch + timm eager training step of
bench/torch_train_step.py, on this machine in the same run as vitkit. Prints one JSON object (images per second
and this process's peak RSS).

usage: python3 bench/reference_train.py CONFIG_JSON BATCH THREADS SECONDS
CONFIG_JSON holds timm VisionTransformer kwargs (img_size, patch_size, in_chans, embed_dim, depth, num_heads,
mlp_ratio, num_classes).
"""
import json
import resource
import sys
import time

import torch

from torch_train_step import train_step


def main():
    kw, batch, threads, seconds = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    step = train_step(kw, batch, threads)

    for _ in range(3):
        step()
    runs, start = 0, time.perf_counter()
    while runs < 5 or time.perf_counter() - start < seconds:
        step()
        runs += 1
    per_step = (time.perf_counter() - start) / runs
    # ru_maxrss is in KiB on Linux: the peak resident memory of this process, the model and its step included.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'pytorch_images_per_sec': batch / per_step, 'pytorch_peak_rss_mb': peak, 'torch_version': torch.__version__}))


if __name__ == '__main__':
    main()
