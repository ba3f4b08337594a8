"""The PyTorch + timm eager training step that vitkit's training benchmarks compare against: forward, cross-entropy
with label smoothing 0.1, backward, clip_grad_norm_ 1.0, AdamW (lr 1e-3, weight decay 0.05), on one fixed random
batch. Shared by bench/reference_train.py (throughput) and bench/profile_train.py (where the time goes).
"""
import contextlib
import sys
import types

import torch

# See bench/reference.py: skip torchvision's C++ op registrations, which timm does not need.
sys.modules.setdefault('torchvision._meta_registrations', types.ModuleType('torchvision._meta_registrations'))
from timm.models.vision_transformer import VisionTransformer  # noqa: E402


def no_region(_name):
    return contextlib.nullcontext()


def train_step(kw, batch, threads, region=no_region, device='cpu'):
    """One training step as a function, for timm VisionTransformer kwargs `kw`, on `device` (the caller syncs a
    GPU before reading a clock). `region(name)` wraps each part ('forward', 'loss', 'backward', 'clip',
    'optimizer'), e.g. torch.profiler's record_function."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = VisionTransformer(**kw).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    x = torch.randn(batch, kw['in_chans'], kw['img_size'], kw['img_size'], device=device)
    y = torch.randint(0, kw['num_classes'], (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        with region('forward'):
            logits = model(x)
        with region('loss'):
            loss = loss_fn(logits, y)
        with region('backward'):
            loss.backward()
        with region('clip'):
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        with region('optimizer'):
            opt.step()

    return step
