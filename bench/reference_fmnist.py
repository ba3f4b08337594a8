"""PyTorch + timm reference for vitkit's time-to-accuracy bench: trains the same ViT with the same recipe on the same
Fashion-MNIST split (exported by bench/time-to-accuracy.ts as .npy), evaluating after every epoch. Prints one JSON line
per epoch (and at the end of a partial one): {"epoch", "test_acc", "seconds"} (seconds of training and evaluation since the start).

usage: python3 bench/reference_fmnist.py DATA_DIR RECIPE_JSON THREADS
"""
import json
import math
import os
import sys
import time
import types

import numpy as np
import torch

# See bench/reference.py: skip torchvision's C++ op registrations, which timm does not need.
sys.modules.setdefault('torchvision._meta_registrations', types.ModuleType('torchvision._meta_registrations'))
from timm.models.vision_transformer import VisionTransformer  # noqa: E402


def main():
    data_dir, recipe, threads = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(recipe['seed'])
    load = lambda name: np.load(os.path.join(data_dir, name))  # noqa: E731
    norm = lambda x: (torch.from_numpy(x).float() / 255 - recipe['mean'][0]) / recipe['std'][0]  # noqa: E731
    x_train, y_train = norm(load('train_x.npy')), torch.from_numpy(load('train_y.npy')).long()
    x_test, y_test = norm(load('test_x.npy')), torch.from_numpy(load('test_y.npy')).long()
    c = recipe['config']
    model = VisionTransformer(img_size=c['imgSize'], patch_size=c['patchSize'], in_chans=c['inChans'], embed_dim=c['embedDim'],
                              depth=c['depth'], num_heads=c['numHeads'], mlp_ratio=c['mlpDim'] / c['embedDim'],
                              num_classes=c['numClasses'])
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and 'pos_embed' not in n and 'cls_token' not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and 'pos_embed' not in n and 'cls_token' not in n)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': recipe['optimizer'].get('weightDecay', 0.01)},
                             {'params': no_decay, 'weight_decay': 0}], lr=recipe['lr'])
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe['labelSmoothing'])
    batch, warmup = recipe['batch'], recipe['warmupSteps']
    per_epoch = len(x_train) // batch
    total = recipe.get('steps') or per_epoch * recipe['epochs']  # as vitkit: steps, when set, win over epochs

    def lr_at(step):
        if step < warmup:
            return recipe['lr'] * (step + 1) / warmup
        progress = min(1, (step - warmup) / max(1, total - warmup))
        return 0.5 * recipe['lr'] * (1 + math.cos(math.pi * progress))

    start, step, epoch = time.perf_counter(), 0, 0
    while step < total:
        model.train()
        order = torch.randperm(len(x_train))
        for b in range(min(per_epoch, total - step)):
            idx = order[b * batch:(b + 1) * batch]
            for g in opt.param_groups:
                g['lr'] = lr_at(step)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x_train[idx]), y_train[idx]).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe['clipNorm'])
            opt.step()
            step += 1
        model.eval()
        with torch.inference_mode():
            correct = sum((model(x_test[i:i + 500]).argmax(1) == y_test[i:i + 500]).sum().item() for i in range(0, len(x_test), 500))
        print(json.dumps({'epoch': epoch, 'test_acc': correct / len(x_test), 'seconds': time.perf_counter() - start}), flush=True)
        epoch += 1


if __name__ == '__main__':
    main()
