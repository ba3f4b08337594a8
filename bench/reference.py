"""Reference inference throughput for vitkit's bench: PyTorch + timm eager (fp32, and int8 linear layers by
torch.ao.quantization.quantize_dynamic), and onnxruntime running timm's own ONNX export of the same model (fp32,
and int8 by onnxruntime.quantization.quantize_dynamic), measured on this machine in the same run. Prints one JSON
object; a reference that cannot run reports why under `<name>_error`.

usage: python3 bench/reference.py ARCH BATCH THREADS SECONDS [IMG_SIZE]
IMG_SIZE builds the model at another input size, as timm's create_model(arch, img_size=N) does (random weights, so
the position embeddings are simply made at that grid). With VITKIT_REFERENCE_ONNX_DIR set, timm's export and its
int8 form are also left there (model.onnx, model_int8.onnx; input 'x') for bench/inference.ts to time in turn.
"""
import json
import os
import shutil
import sys
import tempfile
import time

import types

import torch

# Some torchvision wheels fail to register their C++ ops against this torch build ("operator torchvision::nms
# does not exist") while timm only needs torchvision's Python transforms: skip the op meta-registrations.
sys.modules.setdefault('torchvision._meta_registrations', types.ModuleType('torchvision._meta_registrations'))
import timm  # noqa: E402


def timed(fn, seconds, min_runs=5, warmup=2):
    for _ in range(warmup):
        fn()
    runs, start = 0, time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < seconds:
        fn()
        runs += 1
    return (time.perf_counter() - start) / runs


def main():
    arch, batch, threads, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    size = {'img_size': int(sys.argv[5])} if len(sys.argv) > 5 else {}
    torch.set_num_threads(threads)
    model = timm.create_model(arch, pretrained=False, **size).eval()
    # pretrained_cfg keeps the pretrained size when img_size overrides it
    side = size.get('img_size') or model.pretrained_cfg['input_size'][1]
    x = torch.randn(batch, 3, side, side)
    with torch.inference_mode():
        torch_s = timed(lambda: model(x), seconds)
    out = {'arch': arch, 'img_size': side, 'batch': batch, 'torch_version': torch.__version__,
           'timm_version': timm.__version__, 'pytorch_images_per_sec': batch / torch_s}
    try:
        qmodel = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        with torch.inference_mode():
            out['pytorch_int8_images_per_sec'] = batch / timed(lambda: qmodel(x), seconds)
        out['torch_quantized_engine'] = torch.backends.quantized.engine
    except Exception as e:
        out['pytorch_int8_error'] = str(e).splitlines()[0]
    try:
        import onnxruntime as ort
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'model.onnx')
            torch.onnx.export(model, x, path, input_names=['x'], output_names=['y'], opset_version=18, dynamo=False)
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
            xn = x.numpy()
            ort_s = timed(lambda: sess.run(None, {'x': xn}), seconds)
            out['ort_timm_export_images_per_sec'] = batch / ort_s
            out['onnxruntime_version'] = ort.__version__
            from onnxruntime.quantization import QuantType, quantize_dynamic
            qpath = os.path.join(d, 'model_int8.onnx')
            quantize_dynamic(path, qpath, weight_type=QuantType.QInt8, per_channel=True)
            qsess = ort.InferenceSession(qpath, so, providers=['CPUExecutionProvider'])
            out['ort_timm_export_int8_images_per_sec'] = batch / timed(lambda: qsess.run(None, {'x': xn}), seconds)
            keep = os.environ.get('VITKIT_REFERENCE_ONNX_DIR')
            if keep:
                shutil.copy(path, os.path.join(keep, 'model.onnx'))
                shutil.copy(qpath, os.path.join(keep, 'model_int8.onnx'))
    except Exception as e:  # the export needs the onnx package; report what is missing rather than fail
        out['ort_timm_export_error'] = str(e).splitlines()[0]
    print(json.dumps(out))


if __name__ == '__main__':
    main()
