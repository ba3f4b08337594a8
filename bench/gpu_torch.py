"""The PyTorch side of `npm run bench:gpu`: timm's VisionTransformer in eager mode, fp32, on CUDA where there is a
GPU (else on the CPU, said in the output), training (bench/torch_train_step.py's step: AdamW, label smoothing 0.1,
clipping at 1), inference (no grad), or inference under CUDA fp16 autocast (infer-fp16: the matrix products in
float16, softmax and LayerNorm in float32, as autocast does; skipped without CUDA). Prints one JSON object: images per second, peak GPU memory
(torch.cuda.max_memory_allocated, the tensors' peak; the CUDA context's own few hundred MB are not in it) and the
GPU's name. Where torch or timm cannot be imported it prints {"skipped": why} and exits 0, so the bench still runs.

usage: python3 bench/gpu_torch.py train|infer|infer-fp16 CONFIG_JSON BATCH SECONDS
CONFIG_JSON holds timm VisionTransformer kwargs (img_size, patch_size, in_chans, embed_dim, depth, num_heads,
mlp_ratio, num_classes).
"""
import json
import os
import sys
import time


def main():
    mode, kw, batch, seconds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    try:
        import torch
        from torch_train_step import VisionTransformer, train_step
    except Exception as e:  # noqa: BLE001 - any import failure means: no reference on this machine
        print(json.dumps({'skipped': f'PyTorch + timm not importable: {type(e).__name__}: {e}'.splitlines()[0]}))
        return
    cuda = torch.cuda.is_available()
    device = 'cuda' if cuda else 'cpu'
    if mode == 'infer-fp16' and not cuda:
        print(json.dumps({'skipped': 'no CUDA: fp16 autocast is measured on a GPU'}))
        return
    threads = len(os.sched_getaffinity(0))  # the cores this process may use, not the host's
    # fp32 as vitkit: no TF32 tensor-core products, which round inputs to 10 bits of mantissa
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if mode == 'train':
        step = train_step(kw, batch, threads, device=device)
    else:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        model = VisionTransformer(**kw).to(device).eval()
        x = torch.randn(batch, kw['in_chans'], kw['img_size'], kw['img_size'], device=device)

        def step():
            with torch.inference_mode(), torch.autocast(device, dtype=torch.float16, enabled=mode == 'infer-fp16'):
                model(x)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(3):
        step()
    sync()
    runs, start = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < seconds:
        step()
        runs += 1
    sync()
    per_step = (time.perf_counter() - start) / runs
    print(json.dumps({
        'images_per_sec': batch / per_step,
        'steps': runs,
        'device': device,
        'gpu': torch.cuda.get_device_name() if cuda else None,
        'peak_gpu_memory_mb': torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        'torch': torch.__version__,
    }))


if __name__ == '__main__':
    main()
