"""Reference training throughput for vitkit's bench: one PyTorch + timm training step (forward, cross-entropy with
label smoothing 0.1, backward, clip_grad_norm_ 1.0, AdamW), eager, on this machine in the same run as vitkit.
Prints one JSON object (images per second and this process's peak RSS).

usage: python3 bench/reference_train.py CONFIG_JSON BATCH THREADS SECONDS
CONFIG_JSON holds timm VisionTransformer kwargs (img_size, patch_size, in_chans, embed_dim, depth, num_heads,
mlp_ratio, num_classes).
"""
import json
import resource
import sys
import time
import types

import torch

# See bench/reference.py: skip torchvision's C++ op registrations, which timm does not need.
sys.modules.setdefault('torchvision._meta_registrations', types.ModuleType('torchvision._meta_registrations'))
from timm.models.vision_transformer import VisionTransformer  # noqa: E402


def main():
    kw, batch, threads, seconds = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = VisionTransformer(**kw).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    x = torch.randn(batch, kw['in_chans'], kw['img_size'], kw['img_size'])
    y = torch.randint(0, kw['num_classes'], (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

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
