#!/usr/bin/env bash
# timm weights in, timm logits out: for each model, save a timm state dict as safetensors (random init, as
# `safetensors.torch.save_file(model.state_dict(), ...)` writes hub weights), load it into SwiftClas through the
# PaddleClas-format config (`Global.pretrained_model=<file>.safetensors`), export to ONNX, and compare onnxruntime's
# logits on SwiftClas's export with timm's own on the same smooth 224 px batch.
#
#   PEERPY=/tmp/peervenv/bin/python scripts/timm_weights_roundtrip.sh [timm_name:ppcls-style-config ...]
# Needs a release build (.build/release/tools) and Python with torch, timm, safetensors, onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERPY=${PEERPY:-.venv-bench/bin/python}
TOOLS=${TOOLS:-.build/release/tools}
WORK=${WORK:-$(mktemp -d)}
PAIRS=("$@")
if [ ${#PAIRS[@]} -eq 0 ]; then
    PAIRS=(deit_tiny_patch16_224:DeiT/DeiT_tiny_patch16_224
           deit_tiny_distilled_patch16_224:DeiT/DeiT_tiny_distilled_patch16_224
           convnext_atto:ConvNeXt/ConvNeXt_atto
           swin_tiny_patch4_window7_224:SwinTransformer/SwinTransformer_tiny_patch4_window7_224)
fi
for pair in "${PAIRS[@]}"; do
    name=${pair%%:*}; config=ppcls-style-configs/ImageNet/${pair##*:}.yaml
    "$PEERPY" -c "
import timm, torch; from safetensors.torch import save_file
torch.manual_seed(0)
m = timm.create_model('$name', pretrained=False)
save_file({k: v.contiguous() for k, v in m.state_dict().items()}, '$WORK/$name.safetensors')"
    "$TOOLS" export -c "$config" -o Global.pretrained_model="$WORK/$name.safetensors" \
        -o Global.save_inference_dir="$WORK/$name" -o Arch.class_num=1000 2>&1 | grep -E "Loaded|error" || true
    "$PEERPY" - "$WORK" "$name" <<'EOF'
import sys, timm, torch, numpy as np, onnxruntime as ort
from safetensors.torch import load_file
work, name = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
x = torch.nn.functional.interpolate(torch.randn(2, 3, 14, 14), size=(224, 224), mode='bilinear', align_corners=False)
m = timm.create_model(name, pretrained=False); m.load_state_dict(load_file(f'{work}/{name}.safetensors')); m.eval()
with torch.no_grad():
    ref = m(x).numpy()
s = ort.InferenceSession(f'{work}/{name}/inference.onnx', providers=['CPUExecutionProvider'])
out = s.run(None, {s.get_inputs()[0].name: x.numpy()})[0]
rel = np.abs(out - ref).max() / np.abs(ref).max(1).min()
print(f'{name}: max |Δlogit| / largest logit = {rel:.1e}; the two images differ by {np.abs(ref[0] - ref[1]).max():.3f}; '
      f'same top-1: {bool((out.argmax(1) == ref.argmax(1)).all())}')
sys.exit(0 if rel < 1e-4 else 1)
EOF
done
