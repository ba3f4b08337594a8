"""Where one PyTorch + timm eager training step's time goes, in the op groups of bench/profile-train.ts (which runs
this script for the PyTorch column of docs/performance.md). The step is bench/reference_train.py's: forward,
cross-entropy with label smoothing 0.1, backward, clip_grad_norm_ 1.0, AdamW.

Each op's time is its self CPU time from torch.profiler, median over the profiled steps (ops are matched by their
position in the step), so a burst from another process on a shared machine does not land on one group.
Prints one JSON object: {"groups": {group: ms}, "total": ms per step}.

usage: python3 bench/profile_train.py CONFIG_JSON BATCH THREADS STEPS
"""
import json
import statistics
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from torch_train_step import train_step

REGIONS = ('forward', 'loss', 'backward', 'clip', 'optimizer')
LAYOUT = {'aten::copy_', 'aten::clone', 'aten::contiguous', 'aten::cat', 'aten::_reshape_alias', 'aten::reshape',
          'aten::permute', 'aten::transpose', 'aten::view', 'aten::expand', 'aten::unbind', 'aten::select',
          'aten::slice', 'aten::split', 'aten::t', 'aten::as_strided', 'aten::_unsafe_view', 'aten::flatten',
          'aten::unsqueeze', 'aten::squeeze', 'aten::empty', 'aten::empty_like', 'aten::zeros', 'aten::zero_',
          'aten::fill_', 'aten::new_zeros', 'aten::empty_strided', 'aten::resize_', 'aten::detach', 'detach'}


def classify(name, region, rule, shapes, rows):
    """The group of one op from its name, region (record_function), backward node (autograd rule) and input shapes."""
    if region in ('loss', 'clip', 'optimizer'):
        return region
    if rule and ('LogSoftmax' in rule or 'NllLoss' in rule):
        return 'loss'
    if 'scaled_dot_product' in name or (rule and 'ScaledDotProduct' in rule) or name == 'aten::bmm':
        return 'attention matmuls'
    if name in ('aten::addmm', 'aten::mm', 'aten::matmul', 'aten::linear'):
        if region == 'forward':
            return 'linear fwd'
        first = shapes[0] if shapes and shapes[0] else []
        return 'linear dX' if first and first[0] == rows else 'linear dW'
    if name in ('aten::_softmax', 'aten::_softmax_backward_data') or (rule and rule.startswith('Softmax')):
        return 'softmax'
    if 'layer_norm' in name or (rule and 'LayerNorm' in rule):
        return 'layernorm'
    if 'gelu' in name or (rule and 'Gelu' in rule):
        return 'gelu'
    if name in LAYOUT:
        return 'copies/layout'
    if name == 'aten::sum' and region == 'backward':
        return 'bias/param grads'
    return 'element-wise'


def main():
    kw, batch, threads, steps = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    step = train_step(kw, batch, threads, region=record_function)
    grid = kw['img_size'] // kw['patch_size']
    rows = batch * (grid * grid + 1)

    for _ in range(2):
        step()
    walls = []
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            with record_function('step'):
                t = time.perf_counter()
                step()
                walls.append((time.perf_counter() - t) * 1000)

    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    step_ranges = [e.time_range for e in events if e.name == 'step']
    per_step = [[] for _ in step_ranges]
    for e in events:
        if e.name in REGIONS or e.name == 'step' or e.name.startswith('autograd::engine') or not e.name.startswith('aten::'):
            continue
        region = rule = None
        p = e.cpu_parent
        while p is not None:
            if rule is None and p.name.startswith('autograd::engine::evaluate_function: '):
                rule = p.name.split(': ', 1)[1]
            if p.name in REGIONS:
                region = p.name
                break
            p = p.cpu_parent
        if region is None:
            region = 'backward' if rule else 'forward'
        i = next((k for k, r in enumerate(step_ranges) if r.start <= e.time_range.start <= r.end), None)
        if i is None:
            continue
        per_step[i].append((classify(e.name, region, rule, e.input_shapes, rows), e.self_cpu_time_total / 1000))
    n = min(len(s) for s in per_step)
    groups = {}
    for k in range(n):
        group = per_step[0][k][0]
        groups[group] = groups.get(group, 0) + statistics.median(s[k][1] for s in per_step)
    print(json.dumps({'groups': groups, 'total': statistics.median(walls), 'torch_version': torch.__version__}))


if __name__ == '__main__':
    main()
