// ClasHub: pretrained weights. Downloads from a Hugging Face hub into a verified cache (Download/) and reads
// weights-only PyTorch checkpoints (Torch/). See docs/design.md, "Pretrained weights".
