# This machine's torchvision wheel is a CUDA build whose C ops cannot load against the CPU-only torch: its fake-op
# registrations then fail at import. Skip them (no torchvision op is used by train.py without augmentation).
import torch.library as _lib
_register_fake = _lib.register_fake
def _tolerant(op, func=None, **kw):
    try:
        return _register_fake(op, func, **kw) if func is not None else _wrap(_register_fake(op, **kw))
    except RuntimeError:
        return func if func is not None else (lambda f: f)
def _wrap(dec):
    def apply(f):
        try:
            return dec(f)
        except RuntimeError:
            return f
    return apply
_lib.register_fake = _tolerant
