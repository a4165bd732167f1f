#!/usr/bin/env python3
"""Reference logits from timm for SwiftClas's model tests, without shipping weights.

Every tensor of a timm model's state dict (parameters and batch-norm buffers) is filled from a formula of the
tensor's NAME and the flat element index in PyTorch's layout (NCHW / OIHW), the same formula the Swift test
(Tests/ClasModelsTests/TimmEquivalenceTests.swift) evaluates. The model runs in eval mode on a formula image and
the logits go into a small JSON fixture per model:

    /tmp/peervenv/bin/python scripts/timm_fixtures.py                 # writes Tests/ClasModelsTests/Fixtures/*.json
    /tmp/peervenv/bin/python scripts/timm_fixtures.py --safetensors /tmp/timm-st
        # also saves each model's timm state dict (timm's own random init, randomised BN statistics) as
        # <dir>/<fixture>.safetensors with its logits on the same image in <dir>/<fixture>.logits.json; run the Swift
        # TimmImport test with SWIFTCLAS_TIMM_DIR=<dir>.
    /tmp/peervenv/bin/python scripts/timm_fixtures.py --counts        # parameter counts and MACs, as Swift rows

The formula (all arithmetic in float64, then rounded to float32):
    phase(name) = (fnv1a32(utf8(name)) mod 10007) / 10007 * 2*pi
    s(i)        = sin(0.37 * i + phase(name))
    *.running_var              0.5 + 0.5 * |s|
    *.running_mean             0.1 * s
    other 1-D `*.weight` (BN)  bn_center + 0.2 * bn_center * s   (bn_center per fixture: 1, or less for the
                                                               multi-branch MobileOne blocks so activations stay O(1))
    *.bias                     0.1 * s
    weights with rank >= 2     gain * s / sqrt(fan_in), fan_in = numel / shape[0], gain = sqrt(2)
    input image [N, C, H, W]   sin(0.11 * i + 0.3)     (i = flat NCHW index)
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import timm
from timm.utils.model import reparameterize_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, 'Tests', 'ClasModelsTests', 'Fixtures')

GAIN = math.sqrt(2.0)
INPUT_FREQ, INPUT_PHASE = 0.11, 0.3
FREQ = 0.37

# (fixture name, timm model, input size, reparameterize, bn_center)
CASES = [
    ('mobilenetv3_small_050', 'mobilenetv3_small_050', 64, False, 1.0),
    ('mobilenetv3_large_075', 'mobilenetv3_large_075', 64, False, 1.0),
    ('efficientnet_b0', 'efficientnet_b0', 64, False, 1.0),
    ('mobileone_s0', 'mobileone_s0', 64, False, 0.3),
    ('mobileone_s0_fused', 'mobileone_s0', 64, True, 0.3),
    ('mobileone_s4', 'mobileone_s4', 64, False, 0.4),
    ('resnet18', 'resnet18', 64, False, 1.0),
    ('resnet50d', 'resnet50d', 64, False, 1.0),
    # 72 px makes odd feature maps (9×9 into layer3), exercising the ceil-mode average-pool shortcut.
    ('resnet50d_72', 'resnet50d', 72, False, 1.0),
]
CLASSES = 10
BATCH = 2


def fnv1a32(text):
    h = 0x811C9DC5
    for b in text.encode('utf-8'):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def formula(name, shape, bn_center):
    n = int(np.prod(shape)) if len(shape) else 1
    phase = (fnv1a32(name) % 10007) / 10007.0 * 2 * math.pi
    s = np.sin(FREQ * np.arange(n, dtype=np.float64) + phase)
    if name.endswith('running_var'):
        v = 0.5 + 0.5 * np.abs(s)
    elif name.endswith('running_mean'):
        v = 0.1 * s
    elif name.endswith('bias'):
        v = 0.1 * s
    elif len(shape) >= 2:
        v = GAIN * s / math.sqrt(n / shape[0])
    elif name.endswith('weight'):
        v = bn_center * (1.0 + 0.2 * s)
    else:
        raise ValueError(f'no formula for {name} {shape}')
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def formula_input(size):
    shape = (BATCH, 3, size, size)
    i = np.arange(int(np.prod(shape)), dtype=np.float64)
    return torch.from_numpy(np.sin(INPUT_FREQ * i + INPUT_PHASE).astype(np.float32).reshape(shape))


def fill(model, bn_center):
    sd = model.state_dict()
    with torch.no_grad():
        for name, t in sd.items():
            if name.endswith('num_batches_tracked'):
                continue
            t.copy_(formula(name, tuple(t.shape), bn_center))


def names_of(model):
    return [n for n in model.state_dict().keys() if not n.endswith('num_batches_tracked')]


def build(arch):
    torch.manual_seed(0)
    m = timm.create_model(arch, num_classes=CLASSES)
    m.eval()
    return m


def run(model, x):
    with torch.no_grad():
        return model(x)


def write_fixtures(out_dir, safetensors_dir=None):
    os.makedirs(out_dir, exist_ok=True)
    for fixture, arch, size, fuse, bn_center in CASES:
        model = build(arch)
        fill(model, bn_center)
        x = formula_input(size)
        train_logits = run(model, x)
        if fuse:
            model = reparameterize_model(model)
            model.eval()
        logits = run(model, x)
        doc = {
            'fixture': fixture, 'timm_model': arch, 'timm_version': timm.__version__, 'classes': CLASSES,
            'input_shape_nchw': list(x.shape), 'reparameterized': fuse,
            'formula': {'freq': FREQ, 'gain': GAIN, 'bn_center': bn_center, 'hash_modulus': 10007,
                        'input_freq': INPUT_FREQ, 'input_phase': INPUT_PHASE},
            'names': names_of(model),
            'logits': [round(float(v), 7) for v in logits.flatten()],
        }
        if fuse:
            doc['max_abs_diff_vs_unfused'] = float((logits - train_logits).abs().max())
        path = os.path.join(out_dir, fixture + '.json')
        with open(path, 'w') as f:
            json.dump(doc, f, indent=0)
            f.write('\n')
        print(f'{fixture}: {len(doc["names"])} tensors, logits |max| {float(logits.abs().max()):.3f} -> {path}')
        if safetensors_dir:
            save_safetensors(safetensors_dir, fixture, arch, size, fuse, bn_center)


def save_safetensors(out_dir, fixture, arch, size, fuse, bn_center):
    """timm's own initialisation (seed 0) with randomised BN statistics and affine terms (γ around bn_center), saved
    as safetensors."""
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    model = build(arch)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('running_var'):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith('running_mean') or (t.dim() == 1 and name.endswith('bias')):
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
            elif t.dim() == 1 and name.endswith('weight'):
                t.copy_(bn_center * (1.0 + 0.2 * torch.randn(t.shape, generator=g)))
    if fuse:
        model = reparameterize_model(model)
        model.eval()
    logits = run(model, formula_input(size))
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out_dir, fixture + '.safetensors'))
    with open(os.path.join(out_dir, fixture + '.logits.json'), 'w') as f:
        json.dump({'logits': [float(v) for v in logits.flatten()], 'input_shape_nchw': [BATCH, 3, size, size]}, f)
    print(f'  {fixture}.safetensors: logits |max| {float(logits.abs().max()):.3f}')


def macs(model, res):
    """Multiply-accumulates of convolutions and linear layers (timm / fvcore convention)."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            total[0] += out.numel() * mod.weight[0].numel()
        elif isinstance(mod, torch.nn.Linear):
            total[0] += out.numel() * mod.in_features
    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, res, res))
    for h in hooks:
        h.remove()
    return total[0]


def print_counts():
    """Rows for ModelZooTests: (timm name, parameters, MACs at 64 px, MACs at the native size, fused parameters)."""
    from timm.models.mobilenetv3 import _gen_mobilenet_v3
    native = {f'efficientnet_b{i}': r for i, r in enumerate([224, 240, 260, 300, 380, 456, 528, 600])}
    rows = []
    for size in ('large', 'small'):
        for w, suffix in ((0.35, '035'), (0.5, '050'), (0.75, '075'), (1.0, '100'), (1.25, '125')):
            rows.append((f'mobilenetv3_{size}_{suffix}', lambda s=size, w=w: _gen_mobilenet_v3(f'mobilenetv3_{s}_100', w)))
    for n in [f'efficientnet_b{i}' for i in range(8)] + [f'mobileone_s{i}' for i in range(5)] + \
            ['resnet18', 'resnet18d', 'resnet34', 'resnet34d', 'resnet50', 'resnet50d']:
        rows.append((n, lambda n=n: timm.create_model(n)))
    for name, make in rows:
        m = make()
        params = sum(p.numel() for p in m.parameters())
        fused = ''
        if name.startswith('mobileone'):
            fused = f', fused: {sum(p.numel() for p in reparameterize_model(make()).parameters())}'
        print(f'("{name}", params: {params}, macs64: {macs(m, 64)}, macsNative: {macs(m, native.get(name, 224))}{fused}),',
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=FIXTURES, help='fixture directory')
    ap.add_argument('--safetensors', metavar='DIR', help='also save timm state dicts and their logits here')
    ap.add_argument('--counts', action='store_true', help='print parameter counts and MACs instead')
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.counts:
        print_counts()
    else:
        write_fixtures(args.out, args.safetensors)


if __name__ == '__main__':
    sys.exit(main())
