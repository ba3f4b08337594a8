"""A vitkit run on PyTorch's distributed engine, written by `vitkit export-run` (see README.md beside it).

Every number comes from recipe.json: the model (timm's VisionTransformer), the initial weights (init.safetensors),
the batch order vitkit's seeded sampler draws (data/order.bin), and the optimisation as vitkit defines it; a continued
run also its optimizer state and EMA (optimizer.safetensors, ema.safetensors).
Launch through run.sh (torchrun); one process per GPU with NCCL, or processes on the CPU with gloo.
"""
import argparse, functools, json, math, os, shutil, time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from timm.models.vision_transformer import VisionTransformer

HERE = os.path.dirname(os.path.abspath(__file__))


def learning_rate(s, step):
    """vitkit's schedule (src/train/schedule.ts): linear warm-up to the peak, then cosine, linear or constant."""
    if step < s['warmup_steps']:
        return s['lr'] * (step + 1) / s['warmup_steps']
    if s['kind'] == 'constant':
        return s['lr']
    progress = min(1.0, (step - s['warmup_steps']) / max(1, s['total_steps'] - s['warmup_steps']))
    return 0.5 * s['lr'] * (1 + math.cos(math.pi * progress)) if s['kind'] == 'cosine' else s['lr'] * (1 - progress)


class ImageList(torch.utils.data.Dataset):
    """The exported images in vitkit's index order (manifest lines: path<TAB>label), normalised as vitkit does."""

    def __init__(self, manifest, root, mean, std, transform=None):
        with open(manifest) as f:
            rows = [line.rstrip('\n').split('\t') for line in f if line.strip()]
        self.items = [(os.path.join(root, p), int(y)) for p, y in rows]
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, y = self.items[i]
        img = Image.open(path)
        img = self.transform(img) if self.transform else img
        a = np.array(img, dtype=np.uint8)
        x = torch.from_numpy(a[:, :, None] if a.ndim == 2 else a).permute(2, 0, 1).float()
        return (x / 255 - self.mean) / self.std, y


def augmentation(aug, size):
    """vitkit's augmentations as torchvision/timm transforms: the same distributions, other random streams."""
    from torchvision import transforms as T
    ops = []
    if aug.get('randomResizedCrop'):
        rrc = aug['randomResizedCrop']
        ops.append(T.RandomResizedCrop(size, scale=tuple(rrc['scale']), ratio=tuple(rrc['ratio']),
                                       interpolation=T.InterpolationMode.BICUBIC))
    if aug.get('padCrop'):
        ops.append(T.RandomCrop(size, padding=aug['padCrop']))
    if aug.get('flip'):
        ops.append(T.RandomHorizontalFlip())
    if aug.get('randAugment'):
        from timm.data.auto_augment import rand_augment_transform
        ra = aug['randAugment']
        ops.append(rand_augment_transform(f"rand-m{ra['m']}-n{ra['n']}", {}))
    return T.Compose(ops) if ops else None


class ReplayBatches(torch.utils.data.Sampler):
    """Each step's global batch exactly as vitkit draws it (data/order.bin); this rank's share is a contiguous slice."""

    def __init__(self, order, steps_per_epoch, batch, start, steps, rank, world):
        self.order, self.steps_per_epoch, self.batch = order, steps_per_epoch, batch
        self.start, self.steps, self.share, self.rank = start, steps, batch // world, rank

    def __len__(self):
        return self.steps - self.start

    def __iter__(self):
        for step in range(self.start, self.steps):
            epoch, b = divmod(step, self.steps_per_epoch)
            rows = self.order[epoch % len(self.order)][b * self.batch:(b + 1) * self.batch]
            yield rows[self.rank * self.share:(self.rank + 1) * self.share].tolist()


def load_carried_state(opt, named, ema, resume, device):
    """A continued vitkit run's training state (export-run --from), in place before the first step: optimizer.safetensors
    holds torch.optim's per-parameter state under its own keys (`exp_avg.<name>`, `exp_avg_sq.<name>` for AdamW,
    `momentum_buffer.<name>` for SGD), ema.safetensors the EMA weights."""
    params = dict(named)
    if resume.get('optimizer'):
        for key, t in load_file(os.path.join(HERE, resume['optimizer'])).items():
            slot, name = key.split('.', 1)
            opt.state[params[name]][slot] = t.to(device)
    if isinstance(opt, torch.optim.AdamW):
        expected = {'exp_avg', 'exp_avg_sq', 'step'}
        for q in params.values():
            # torch's own form: a float32 CPU scalar; it adds 1 before the bias corrections, as vitkit's t = step + 1
            opt.state[q]['step'] = torch.tensor(float(resume['step']), dtype=torch.float32)
    else:
        expected = {'momentum_buffer'} if opt.defaults['momentum'] else set()
    incomplete = [n for n, q in named if set(opt.state[q]) != expected]
    if incomplete:
        raise SystemExit(f'{resume.get("optimizer")}: no {sorted(expected)} for {incomplete[:3]}: export the run again')
    if ema:
        ema.module.load_state_dict(load_file(os.path.join(HERE, resume['ema'])), strict=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--recipe', default=os.path.join(HERE, 'recipe.json'))
    p.add_argument('--output', default=os.path.join(HERE, 'output'))
    p.add_argument('--steps', type=int, help='stop after this many steps (default: the recipe\'s)')
    p.add_argument('--log-every', type=int, default=50, help='a metrics.jsonl step line every N steps (vitkit: 50)')
    p.add_argument('--workers', type=int, default=2, help='DataLoader workers per process')
    args = p.parse_args()
    r = json.load(open(args.recipe))

    gpu = torch.cuda.is_available()
    dist.init_process_group('nccl' if gpu else 'gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get('LOCAL_RANK', 0))
    device = torch.device(f'cuda:{local}' if gpu else 'cpu')
    if gpu:
        torch.cuda.set_device(device)
    torch.manual_seed(r['seed'] + rank)  # dropout and augmentation streams (vitkit's differ; see README.md)

    batch, accum = r['batch'], r['grad_accum']
    if batch % world:
        raise SystemExit(f'--nproc_per_node × nodes = {world} must divide the global batch {batch}')
    share = batch // world  # the global batch stays vitkit's at any process count
    accum = accum // world if accum % world == 0 and accum >= world else accum
    if share % accum:
        raise SystemExit(f'each process\'s {share} images do not split into {accum} equal micro-batches')
    micro = share // accum

    m = r['model']
    model = VisionTransformer(**m['timm_kwargs'], norm_layer=functools.partial(torch.nn.LayerNorm, eps=m['layer_norm_eps']))
    model.load_state_dict(load_file(os.path.join(HERE, r['init'])), strict=True)
    model.to(device)
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local] if gpu else None)

    o = r['optimizer']
    skip = set(o['no_decay'])
    named = [(n, q) for n, q in model.named_parameters() if q.requires_grad]
    groups = [{'params': [q for n, q in named if n not in skip], 'weight_decay': o['weight_decay']},
              {'params': [q for n, q in named if n in skip], 'weight_decay': 0.0}]
    if o['kind'] == 'adamw':
        opt = torch.optim.AdamW(groups, lr=r['lr'], betas=(o['beta1'], o['beta2']), eps=o['eps'])
    else:
        opt = torch.optim.SGD(groups, lr=r['lr'], momentum=o['momentum'], nesterov=o['nesterov'])
    ema = None
    if r['ema']:
        from timm.utils import ModelEmaV2
        ema = ModelEmaV2(model, decay=r['ema'])

    resume = r.get('resume')
    if resume:
        load_carried_state(opt, named, ema, resume, device)

    d = r['data']
    aug = r['augment']
    train_set = ImageList(os.path.join(HERE, d['train']), os.path.join(HERE, d['root']), r['mean'], r['std'],
                          augmentation(aug, m['timm_kwargs']['img_size']))
    test_set = ImageList(os.path.join(HERE, d['test']), os.path.join(HERE, d['root']), r['mean'], r['std'])
    order = np.fromfile(os.path.join(HERE, d['order']), dtype='<i4').reshape(d['order_epochs'], -1)
    mixing = None
    if aug.get('mixup') or aug.get('cutmix'):
        from timm.data import Mixup
        mixing = Mixup(mixup_alpha=aug.get('mixup', 0), cutmix_alpha=aug.get('cutmix', 0),
                       label_smoothing=r['label_smoothing'], num_classes=m['timm_kwargs']['num_classes'])
    erasing = None
    if aug.get('erasing'):
        from timm.data.random_erasing import RandomErasing
        erasing = RandomErasing(aug['erasing'], mode='const', device=str(device))

    steps_per_epoch, total = r['steps_per_epoch'], r['total_steps']
    steps = min(total, args.steps or total)
    if rank == 0:
        os.makedirs(args.output, exist_ok=True)
        log = open(os.path.join(args.output, 'metrics.jsonl'), 'a')
    started = time.time()
    sums = resume['epoch_sums'] if resume else {'loss': 0.0, 'correct': 0.0, 'images': 0.0}
    epoch_loss, epoch_correct, epoch_seen = float(sums['loss']), float(sums['correct']), float(sums['images'])

    def evaluate():
        net = ema.module if ema else model
        net.eval()
        loss = correct = 0.0
        with torch.no_grad():
            for x, y in torch.utils.data.DataLoader(test_set, batch_size=500, num_workers=args.workers):
                logits = net(x.to(device))
                loss += F.cross_entropy(logits, y.to(device), reduction='sum').item()
                correct += (logits.argmax(1).cpu() == y).sum().item()
        net.train()
        return loss / len(test_set), correct / len(test_set)

    model.train()
    start = r.get('start_step', 0)
    sampler = ReplayBatches(order, steps_per_epoch, batch, start, steps, rank, world)
    loader = torch.utils.data.DataLoader(train_set, batch_sampler=sampler, num_workers=args.workers)
    for step, (x, y) in enumerate(loader, start):
        epoch = step // steps_per_epoch
        lr = learning_rate(r['schedule'], step)
        for g in opt.param_groups:
            g['lr'] = lr
        x, y = x.to(device), y.to(device)
        if erasing:
            x = erasing(x)
        target = mixing(x, y)[1] if mixing else None
        stats = torch.zeros(3, device=device)  # loss sum, correct, images
        for k in range(accum):
            xs, ys = x[k * micro:(k + 1) * micro], y[k * micro:(k + 1) * micro]
            sync = ddp.no_sync() if k < accum - 1 else torch.enable_grad()
            with sync:
                logits = ddp(xs)
                if target is not None:
                    loss = torch.sum(-target[k * micro:(k + 1) * micro] * F.log_softmax(logits, -1), -1).mean()
                else:
                    loss = F.cross_entropy(logits, ys, label_smoothing=r['label_smoothing'])
                (loss / accum).backward()
            correct = (logits.argmax(1) == ys).sum().float()
            stats += torch.stack([loss.detach() * micro, correct, torch.tensor(float(micro), device=device)])
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), r['clip_norm'] if r['clip_norm'] > 0 else float('inf'))
        opt.step()
        opt.zero_grad(set_to_none=True)
        if ema:
            ema.update(model)
        dist.all_reduce(stats)
        loss, acc = (stats[0] / stats[2]).item(), (stats[1] / stats[2]).item()
        epoch_loss += stats[0].item()
        epoch_correct += stats[1].item()
        epoch_seen += stats[2].item()
        done = step + 1
        if rank == 0 and done % args.log_every == 0:
            log.write(json.dumps({'kind': 'step', 'step': done, 'epoch': epoch, 'loss': loss, 'acc': acc, 'lr': lr,
                                  'images_per_sec': batch * (done - start) / (time.time() - started),
                                  'grad_norm': norm.item(), 'time': time.time() - started}) + '\n')
            log.flush()
        if done % steps_per_epoch == 0 or done == steps:
            last = done == steps
            test = {}
            if rank == 0 and (last or (r['eval_every'] and (epoch + 1) % r['eval_every'] == 0)):
                test_loss, test_acc = evaluate()
                test = {'test_loss': test_loss, 'test_acc': test_acc}
            if rank == 0:
                log.write(json.dumps({'kind': 'epoch', 'epoch': epoch, 'step': done, 'train_loss': epoch_loss / epoch_seen,
                                      'train_acc': epoch_correct / epoch_seen, **test, 'lr': lr,
                                      'time': time.time() - started}) + '\n')
                log.flush()
            epoch_loss = epoch_correct = epoch_seen = 0.0

    if rank == 0:
        # timm's Hub layout: model.safetensors beside config.json (the EMA weights when the recipe keeps an EMA, as
        # vitkit's best.safetensors); the raw weights then go to output/last/, a Hub folder of their own
        def save(module, folder):
            os.makedirs(folder, exist_ok=True)
            weights = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
            save_file(weights, os.path.join(folder, 'model.safetensors'))
            shutil.copy(os.path.join(HERE, 'timm_config.json'), os.path.join(folder, 'config.json'))
        save(ema.module if ema else model, args.output)
        if ema:
            save(model, os.path.join(args.output, 'last'))
        log.close()
        print(f'wrote {args.output}/model.safetensors after {steps} steps')
    # gloo's worker thread needs the GIL to free the last all-reduce's Python tensor: waiting here (GIL released)
    # lets it, where a rank going straight to the teardown could deadlock in the process group's destructor
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
