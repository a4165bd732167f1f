#!/usr/bin/env python3
"""Reference logits from timm for SwiftClas's timm-equivalence tests (Tests/ClasModelsTests/TimmEquivalenceTests.swift).

For every registered architecture, the timm model gets weights that behave like a trained network's, so that its
logits depend strongly on the image (a spatial bug — a padding offset, an H/W transpose, images mixed in a batch —
changes them by far more than the tolerance):

* convolution and linear weights: timm's own initialisation decides each tensor's scale (the standard deviation of
  the tensor `timm.create_model` draws with `torch.manual_seed(SEED)`, recorded per tensor in the fixture; squeeze-
  excite weights of the deepest networks scaled down, see SE_DAMPING); the values
  are drawn from a portable generator the Swift test reproduces exactly (below), so no weights are committed;
* BatchNorm affine terms: γ = 1 + 0.2·g, β = 0.1·g from the same generator (timm's init would make γ = 1, β = 0, and
  zero the last γ of each ResNet block, which would hide bugs in those branches); other biases 0.1·g; in the deepest
  ResNets the last BatchNorm of each residual branch is scaled by RESIDUAL_DAMPING (recorded as that tensor's scale),
  as training leaves it: small, so the residual stream does not grow with depth;
* BatchNorm running statistics: cumulative averages over train-mode passes on real photographs (the committed
  Fixtures/photos, with mirrored and shifted copies), variances floored at 0.01 so a channel the calibration saw as
  constant cannot amplify rounding noise; stored as float16 in `<fixture>.stats.safetensors` (the reference logits
  are computed with the float16-rounded values);
* the classifier's scale is then chosen so the logits over the calibration images have a standard deviation of 2, and
  its bias (stored, float32, in the same file) so that each class's median logit over them is 0.

The test input is four photographs (astronaut, chelsea, coffee, rocket; 72 wide × 56 high, see
Fixtures/photos/LICENSE.md), normalised with ImageNet mean/std: a batch of 4 at a non-square size, so feature maps are
non-square and odd (56 → 28 → 14 → 7 → 4).

The generator, value i of the tensor called NAME (uint64 arithmetic mod 2^64, float64 arithmetic, then rounded once
to float32):
    key   = fnv1a64(utf8(NAME)) xor (SEED * 0x9E3779B97F4A7C15)
    z     = splitmix64 finaliser of key + (i + 1) * 0x9E3779B97F4A7C15
    u     = (z >> 11) * 2^-53                       (uniform in [0, 1))
    g     = (2u - 1) * sqrt(3)                      (uniform, mean 0, variance 1)
    rank >= 2 weights: g * scale[NAME]; 1-D `weight`: (1 + 0.2 g) * s; `bias`: 0.1 g * s (except the classifier's,
    stored), with s = scale[NAME] when the fixture records one, else 1;
    `gamma` (layer scale): 0.1 (1 + 0.2 g)
with i the flat index in PyTorch's layout (OIHW for convolutions).

    .venv-bench/bin/python scripts/timm_fixtures.py              # (make bench-venv) writes Tests/ClasModelsTests/Fixtures/timm/*
    .venv-bench/bin/python scripts/timm_fixtures.py resnet18     # only the named fixtures
    .venv-bench/bin/python scripts/timm_fixtures.py --counts     # parameter counts and MACs, as Swift rows

scripts/deliberate_bugs.patch holds three bugs the test must catch (a one-pixel padding shift, an H/W transpose, two
images swapped in the batch); apply it, run the test, see it fail, revert it.
"""
import argparse
import json
import math
import os
import re
import sys

import numpy as np
import torch
import timm
from PIL import Image
from timm.utils.model import reparameterize_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, 'Tests', 'ClasModelsTests', 'Fixtures')
PHOTOS = os.path.join(FIXTURES, 'photos')
OUT = os.path.join(FIXTURES, 'timm')

SEED = 0
CLASSES = 10
TEST_PHOTOS = ['astronaut', 'chelsea', 'coffee', 'rocket']
CALIBRATION_PHOTOS = TEST_PHOTOS + ['hubble_deep_field']
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
VAR_FLOOR = 0.01
LOGIT_STD = 2.0
# The deepest squeeze-excite networks blow one photograph's features up (each block's gate favours the image whose
# features are already largest, and the next BatchNorm turns that into a growing ratio), which makes their logits
# chaotic: float32 rounding alone then moves them by more than the tolerance. Their squeeze-excite weights are scaled
# down by this factor (the gates vary less between images); shallower networks keep timm's scales.
SE_DAMPING = {'efficientnet_b4': 0.25, 'efficientnet_b5': 0.25, 'efficientnet_b6': 0.25, 'efficientnet_b7': 0.25, 'mobileone_s4': 0.25}
# On random weights each residual branch of a bottleneck ResNet adds a unit-variance term to the stream, so in the
# deepest ResNets the logits come from a large sum whose float32 rounding reaches the 1e-4 tolerance (resnet101d
# without damping exceeds it). Trained ResNets keep the branches' last BN gamma small; scaling those gammas and betas by
# 0.2 keeps SwiftClas within 0.07x of the tolerance while the photographs stay thousands of tolerances apart.
RESIDUAL_DAMPING = {'resnet101d': 0.2, 'resnet152': 0.2, 'resnet152d': 0.2, 'ResNet200_vd': 0.2}
GOLDEN = 0x9E3779B97F4A7C15
M64 = (1 << 64) - 1

# Every architecture in SwiftClas's ModelZoo (timm names). MobileOne fixtures also hold the fused model's logits.
CASES = [f'mobilenetv3_{s}_{w}' for s in ('large', 'small') for w in ('035', '050', '075', '100', '125')] + \
    [f'efficientnet_b{i}' for i in range(8)] + [f'mobileone_s{i}' for i in range(5)] + \
    ['resnet18', 'resnet18d', 'resnet34', 'resnet34d', 'resnet50', 'resnet50d', 'resnet101'] + \
    ['resnet101d', 'resnet152', 'resnet152d', 'ResNet200_vd'] + \
    [f'lcnet_{w}' for w in ('025', '035', '050', '075', '100', '150', '200', '250')] + \
    ['lcnetv2_small'] + \
    [f'mobilenetv1_{w}' for w in ('025', '050', '075', '100')] + \
    [f'mobilenetv2_{w}' for w in ('025', '050', '075', '100', '150', '200')] + \
    [f'shufflenet_v2_{w}' for w in ('x0_25', 'x0_33', 'x0_5', 'x1_0', 'x1_5', 'x2_0', 'swish')] + \
    ['convnext_atto', 'convnext_tiny', 'swin_tiny_patch4_window7_224', 'swin_reduced_window12_384'] + \
    ['deit_tiny_patch16_224', 'deit_tiny_distilled_patch16_224', 'vit_small_patch16_224']
# Vision transformers take one input size (their position embedding's): the fixtures build them for the test photos'
# 56×72 with 8-pixel patches (63 tokens); the Swift test passes the same `Arch` options (`arch_options`).
VIT_OPTIONS = {'img_size': [56, 72], 'patch_size': 8}
# Swin-B/384's window 12 and 384 px plan on a network small enough for a fixture: timm's SwinTransformer with these
# arguments (TimmEquivalenceTests builds the same SwinTransformer in Swift). On the 56×72 photographs the stages' maps
# (14×18, 7×9, 4×5, 2×3) are padded to whole 12×12 windows, the first three shifted by 6 with their masks.
SWIN_REDUCED = {'img_size': 384, 'patch_size': 4, 'window_size': 12, 'embed_dim': 32, 'depths': (2, 2, 2, 2),
                'num_heads': (1, 2, 4, 8)}
# PaddleClas's ShuffleNetV2 widths (timm has no ShuffleNet; torchvision's class, whose names SwiftClas uses).
SHUFFLENET = {'x0_25': [24, 24, 48, 96, 512], 'x0_33': [24, 32, 64, 128, 512], 'x0_5': [24, 48, 96, 192, 1024],
              'x1_0': [24, 116, 232, 464, 1024], 'x1_5': [24, 176, 352, 704, 1024], 'x2_0': [24, 244, 488, 976, 2048],
              'swish': [24, 116, 232, 464, 1024]}
# Models whose fixtures also hold the fused (re-parameterized) model's logits.
FUSED = ('mobileone', 'lcnetv2')


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode('utf-8'):
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def uniform_unit(name, n):
    """g_i for i in 0..<n (see the module docstring)."""
    key = np.uint64(fnv1a64(name) ^ ((SEED * GOLDEN) & M64))
    with np.errstate(over='ignore'):
        z = key + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GOLDEN))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    return (2.0 * u - 1.0) * math.sqrt(3.0)


def generated(name, shape, scale):
    g = uniform_unit(name, int(np.prod(shape)) if len(shape) else 1)
    if len(shape) >= 2:
        v = g * scale
    elif name.endswith('weight'):
        v = (1.0 + 0.2 * g) * (scale or 1.0)
    elif name.endswith('gamma'):  # layer scale (ConvNeXt): small, so each block adds to its input, as when trained
        v = 0.1 * (1.0 + 0.2 * g)
    elif name.endswith('bias'):
        v = 0.1 * g * (scale or 1.0)
    else:
        raise ValueError(f'no rule for {name} {shape}')
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def photo(name):
    a = np.asarray(Image.open(os.path.join(PHOTOS, name + '.png')).convert('RGB'), dtype=np.float64)  # H, W, 3
    return ((a / 255.0 - np.array(MEAN)) / np.array(STD)).astype(np.float32)


def test_batch():
    return torch.from_numpy(np.stack([photo(n) for n in TEST_PHOTOS])).permute(0, 3, 1, 2).contiguous()


def calibration_batches():
    """Real photographs, mirrored and shifted (reflection padding), 10 images a batch."""
    rng = np.random.default_rng(SEED)
    base = [photo(n) for n in CALIBRATION_PHOTOS]
    batches = [base + [b[:, ::-1] for b in base]]
    for _ in range(3):
        batch = []
        for b in base + [b[:, ::-1] for b in base]:
            dy, dx = rng.integers(-8, 9, size=2)
            p = np.pad(b, ((8, 8), (8, 8), (0, 0)), mode='reflect')
            batch.append(p[8 + dy:8 + dy + b.shape[0], 8 + dx:8 + dx + b.shape[1]])
        batches.append(batch)
    return [torch.from_numpy(np.ascontiguousarray(np.stack(b))).permute(0, 3, 1, 2).contiguous() for b in batches]


def classifier_name(model):
    for n in ('classifier.weight', 'head.fc.weight', 'fc.weight', 'head.weight'):
        if n in model.state_dict():
            return n
    raise ValueError('no classifier')


def is_bn_buffer(name):
    return name.endswith('running_mean') or name.endswith('running_var') or name.endswith('num_batches_tracked')


def fill(model, scales):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not is_bn_buffer(name):
                t.copy_(generated(name, tuple(t.shape), scales.get(name)))


def calibrate(model):
    """Cumulative BatchNorm statistics over train-mode passes on the calibration photographs."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for x in calibration_batches():
            model(x)
    for m in bns:
        m.momentum = 0.1
        m.running_var.clamp_(min=VAR_FLOOR)
        # What the fixture stores (float16), so the reference logits use exactly the stored statistics.
        m.running_mean.copy_(m.running_mean.half().float())
        m.running_var.copy_(m.running_var.half().float())
    model.eval()


def run(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


def create(arch, num_classes=CLASSES):
    """timm's model; widths timm does not register (MobileNetV3 large 0.35, PP-LCNet 0.25, MobileNetV2 1.5 …) from
    its own generator at that multiplier; PaddleClas's ResNet200_vd (depths 3, 12, 48, 3) from timm's ResNet."""
    if arch == 'swin_reduced_window12_384':
        from timm.models.swin_transformer import SwinTransformer
        return SwinTransformer(**SWIN_REDUCED, num_classes=num_classes, strict_img_size=False)
    if arch.startswith('swin_'):  # any input size (padded to whole windows), as SwiftClas's Swin
        return timm.create_model(arch, num_classes=num_classes, strict_img_size=False)
    if arch.startswith(('vit_', 'deit_')):
        return timm.create_model(arch, num_classes=num_classes, img_size=tuple(VIT_OPTIONS['img_size']),
                                 patch_size=VIT_OPTIONS['patch_size'])
    if arch in timm.list_models():
        return timm.create_model(arch, num_classes=num_classes)
    if arch.startswith('shufflenet_v2_'):
        import torchvision
        width = arch[len('shufflenet_v2_'):]
        m = torchvision.models.ShuffleNetV2([4, 8, 4], SHUFFLENET[width], num_classes=num_classes)
        if width == 'swish':  # PaddleClas's ShuffleNetV2_swish: swish wherever the others have ReLU
            for mod in list(m.modules()):
                for k, child in mod.named_children():
                    if isinstance(child, torch.nn.ReLU):
                        setattr(mod, k, torch.nn.SiLU())
        return m
    if arch == 'ResNet200_vd':
        from timm.models.resnet import ResNet, Bottleneck
        return ResNet(block=Bottleneck, layers=[3, 12, 48, 3], stem_width=32, stem_type='deep', avg_down=True,
                      num_classes=num_classes)
    from timm.models.mobilenetv3 import _gen_mobilenet_v3, _gen_lcnet
    from timm.models.efficientnet import _gen_mobilenet_v1, _gen_mobilenet_v2
    family, width = arch.rsplit('_', 1)
    gen = {'lcnet': _gen_lcnet, 'mobilenetv1': _gen_mobilenet_v1, 'mobilenetv2': _gen_mobilenet_v2}.get(family)
    if gen is not None:
        return gen(f'{family}_100', int(width) / 100, num_classes=num_classes)
    size = family.split('_')[1]
    return _gen_mobilenet_v3(f'mobilenetv3_{size}_100', int(width) / 100, num_classes=num_classes)


def make_fixture(arch):
    torch.manual_seed(SEED)
    model = create(arch)
    sd = model.state_dict()
    scales = {}
    for name, t in sd.items():
        if t.dim() >= 2:
            s = float(t.float().std())
            if not s > 0:
                s = 1.0 / math.sqrt(t[0].numel())
            if arch in SE_DAMPING and ('.se.' in name or '.attn.' in name):
                s *= SE_DAMPING[arch]
            scales[name] = float(np.float32(s))
        elif arch in RESIDUAL_DAMPING and re.search(r'^layer\d\.\d+\.bn3\.(weight|bias)$', name):
            scales[name] = RESIDUAL_DAMPING[arch]
    fill(model, scales)
    calibrate(model)
    cls = classifier_name(model)
    spread = float(torch.cat([run(model, x) for x in calibration_batches()]).std())
    scales[cls] = float(np.float32(scales[cls] * LOGIT_STD / spread))
    fill(model, scales)  # BN statistics are buffers and stay; only the (regenerated) classifier changes
    # Random features share a large image-independent part; a classifier bias that cancels its logits (the median
    # logit of each class over the calibration images: robust to the one image whose features a deep random network
    # sometimes blows up) leaves logits that are mostly the images' differences. The test's tolerance is relative to
    # each image's largest logit.
    bias_name = cls[:-len('weight')] + 'bias'
    with torch.no_grad():
        median = torch.cat([run(model, x) for x in calibration_batches()]).median(0).values
        model.state_dict()[bias_name].sub_(median)
    measured = {bias_name}

    x = test_batch()
    logits = run(model, x)
    doc = {
        'fixture': arch, 'timm_model': arch, 'timm_version': timm.__version__, 'torch_version': torch.__version__,
        'classes': CLASSES, 'seed': SEED, 'photos': TEST_PHOTOS, 'input_shape_nchw': list(x.shape),
        'mean': MEAN, 'std': STD,
        'names': [n for n in sd if not n.endswith('num_batches_tracked')],
        'scales': scales,
        'logits': [float(v) for v in logits.flatten()],
    }
    if arch.startswith(('vit_', 'deit_')):
        doc['arch_options'] = VIT_OPTIONS
    if arch == 'swin_reduced_window12_384':
        doc['timm_kwargs'] = SWIN_REDUCED
    if arch.startswith(FUSED):
        fused = reparameterize_model(model)
        fused_logits = run(fused, x)
        doc['fused_names'] = [n for n in fused.state_dict() if not n.endswith('num_batches_tracked')]
        doc['fused_logits'] = [float(v) for v in fused_logits.flatten()]
        doc['fused_max_abs_diff_vs_unfused'] = float((fused_logits - logits).abs().max())
    # How far apart the four images' logits are (the test asserts this is far above its tolerance).
    # (relative to the larger of the two images' largest |logit|, as the test's tolerance is).
    top = logits.abs().max(1).values
    gaps = [float((logits[i] - logits[j]).abs().max() / max(top[i], top[j]))
            for i in range(len(logits)) for j in range(i + 1, len(logits))]
    doc['min_pairwise_relative_gap'] = min(gaps)
    from safetensors.torch import save_file
    stats = {n: t.half().contiguous() for n, t in model.state_dict().items()
             if n.endswith('running_mean') or n.endswith('running_var')}
    stats.update({n: model.state_dict()[n].float().contiguous() for n in measured})
    os.makedirs(OUT, exist_ok=True)
    save_file(stats, os.path.join(OUT, arch + '.stats.safetensors'))
    with open(os.path.join(OUT, arch + '.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'{arch}: {len(doc["names"])} tensors, |logit| max {float(logits.abs().max()):.3f}, '
          f'per-image |logit| max {[round(float(t), 3) for t in top]}, min relative gap {min(gaps):.4f}', flush=True)


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
    native.update({'resnet101d': 256, 'resnet152d': 256})
    rows = []
    for size in ('large', 'small'):
        for w, suffix in ((0.35, '035'), (0.5, '050'), (0.75, '075'), (1.0, '100'), (1.25, '125')):
            rows.append((f'mobilenetv3_{size}_{suffix}', lambda s=size, w=w: _gen_mobilenet_v3(f'mobilenetv3_{s}_100', w)))
    for n in [f'efficientnet_b{i}' for i in range(8)] + [f'mobileone_s{i}' for i in range(5)] + \
            ['resnet18', 'resnet18d', 'resnet34', 'resnet34d', 'resnet50', 'resnet50d']:
        rows.append((n, lambda n=n: timm.create_model(n)))
    for n in ['resnet101', 'resnet101d', 'resnet152', 'resnet152d', 'ResNet200_vd', 'lcnetv2_base', 'lcnetv2_large'] + \
            [c for c in CASES if c.startswith(('lcnet', 'mobilenetv1', 'mobilenetv2', 'shufflenet'))] + \
            [f'convnext_{s}' for s in ('atto', 'femto', 'pico', 'nano', 'tiny', 'small', 'base')] + \
            [f'swin_{s}_patch4_window7_224' for s in ('tiny', 'small', 'base')] + ['swin_base_patch4_window12_384']:
        rows.append((n, lambda n=n: create(n, num_classes=1000)))
    native.update({'swin_base_patch4_window12_384': 384})
    # PaddleClas's ConvNeXt_base_384: timm's convnext_base, at 384 px.
    rows.append(('ConvNeXt_base_384', lambda: create('convnext_base', num_classes=1000)))
    native['ConvNeXt_base_384'] = 384
    # Vision transformers take one input size: MACs at 64 px come from the same network built for 64 px.
    vits = {n: {} for n in ('vit_tiny_patch16_224', 'vit_small_patch16_224', 'deit_tiny_patch16_224',
                            'deit_small_patch16_224', 'deit_tiny_distilled_patch16_224',
                            'deit_small_distilled_patch16_224')}
    # PaddleClas's ViT_small_patch16_224: 768 wide, 8 blocks, MLP x3, no qkv bias, LayerNorm eps 1e-5.
    vits['ViT_small_patch16_224'] = dict(embed_dim=768, depth=8, num_heads=8, mlp_ratio=3, qkv_bias=False,
                                         norm_layer=torch.nn.LayerNorm)
    for name, make in rows:
        if name in vits:
            continue
        m = make()
        params = sum(p.numel() for p in m.parameters())
        fused = ''
        if name.startswith(FUSED):
            fused = f', fused: {sum(p.numel() for p in reparameterize_model(make()).parameters())}'
        print(f'("{name}", params: {params}, macs64: {macs(m, 64)}, macsNative: {macs(m, native.get(name, 224))}{fused}),',
              flush=True)
    from timm.models.vision_transformer import VisionTransformer
    for name, kwargs in vits.items():
        def build(size, n=name, kw=kwargs):
            return VisionTransformer(img_size=size, **kw) if kw else timm.create_model(n, img_size=size)
        m = build(224)
        params = sum(p.numel() for p in m.parameters())
        print(f'("{name}", params: {params}, macs64: {macs(build(64), 64)}, macsNative: {macs(m, 224)}),', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('models', nargs='*', help=f'fixtures to write (default: all {len(CASES)})')
    ap.add_argument('--counts', action='store_true', help='print parameter counts and MACs instead')
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.counts:
        print_counts()
        return
    for arch in args.models or CASES:
        make_fixture(arch)


if __name__ == '__main__':
    sys.exit(main())
