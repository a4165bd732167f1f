"""Writes the seed corpus in corpus/<target>/ (small valid inputs). Needs Pillow for the images; the committed
files are what the fuzzers use, this script only documents how they were made: `python3 make_corpus.py`."""
import io, json, os, struct
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))

def put(target, name, data):
    with open(os.path.join(here, "corpus", target, name), "wb") as f:
        f.write(data)

def image(mode, size):
    w, h = size
    bands = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "CMYK": 4, "P": 1, "I;16": 1}[mode]
    if mode == "I;16":
        im = Image.new("I;16", size)
        im.putdata([(x * 4099 + y * 997) % 65536 for y in range(h) for x in range(w)])
        return im
    data = bytes((x * 37 + y * 11 + c * 71) % 256 for y in range(h) for x in range(w) for c in range(bands))
    return Image.frombytes(mode, size, data)

def encoded(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()

# PNG: 8-bit gray, gray+alpha, RGB, RGBA, palette (with transparency), 16-bit gray, interlaced RGB.
put("FuzzPNG", "gray.png", encoded(image("L", (5, 3)), "PNG"))
put("FuzzPNG", "gray_alpha.png", encoded(image("LA", (4, 4)), "PNG"))
put("FuzzPNG", "rgb.png", encoded(image("RGB", (6, 4)), "PNG"))
put("FuzzPNG", "rgba.png", encoded(image("RGBA", (3, 5)), "PNG"))
put("FuzzPNG", "palette_trns.png", encoded(image("P", (8, 8)), "PNG", transparency=3))
put("FuzzPNG", "gray16.png", encoded(image("I;16", (4, 3)), "PNG"))
put("FuzzPNG", "interlaced.png", encoded(image("RGB", (9, 9)), "PNG", interlace=1))

# JPEG: baseline RGB, progressive, gray, CMYK, 4:2:0 with restart markers, and one with an EXIF orientation.
put("FuzzJPEG", "rgb.jpg", encoded(image("RGB", (16, 8)), "JPEG", quality=80))
put("FuzzJPEG", "progressive.jpg", encoded(image("RGB", (16, 16)), "JPEG", progressive=True))
put("FuzzJPEG", "gray.jpg", encoded(image("L", (8, 8)), "JPEG"))
put("FuzzJPEG", "cmyk.jpg", encoded(image("CMYK", (8, 8)), "JPEG"))
put("FuzzJPEG", "restart.jpg", encoded(image("RGB", (24, 16)), "JPEG", subsampling=2, restart_marker_blocks=1))
exif = Image.Exif()
exif[0x0112] = 6
put("FuzzJPEG", "exif_rotate.jpg", encoded(image("RGB", (8, 16)), "JPEG", exif=exif.tobytes()))

# BMP: 24-bit, 8-bit palette, 1-bit, 32-bit (BGRX), and a top-down 24-bit file (negative height).
put("FuzzBMP", "rgb24.bmp", encoded(image("RGB", (5, 3)), "BMP"))
put("FuzzBMP", "palette8.bmp", encoded(image("P", (4, 4)), "BMP"))
put("FuzzBMP", "mono1.bmp", encoded(image("L", (9, 2)).convert("1"), "BMP"))
put("FuzzBMP", "bgrx32.bmp", encoded(image("RGBA", (3, 3)), "BMP"))
top_down = bytearray(encoded(image("RGB", (4, 2)), "BMP"))
top_down[22:26] = struct.pack("<i", -2)
put("FuzzBMP", "top_down.bmp", bytes(top_down))

# safetensors: F32, F16, BF16, I64 and an empty tensor, with metadata.
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data

put("FuzzSafetensors", "f32.safetensors", safetensors(
    [("a", "F32", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6)), ("b", "F32", [], struct.pack("<f", 7)),
     ("c", "F32", [0], b"")], {"format": "swiftclas", "epoch": "3"}))
put("FuzzSafetensors", "mixed.safetensors", safetensors(
    [("h", "F16", [2], struct.pack("<2e", 1.5, -2.0)), ("bf", "BF16", [2], b"\x80\x3f\x00\x40"),
     ("i", "I64", [1], struct.pack("<q", 5)), ("f64", "F64", [1], struct.pack("<d", 0.25))]))

# Configs: YAML, then NUL-separated `-o` overrides.
with open(os.path.join(here, "..", "configs", "quickstart_mobilenet_v3_small_fmnist.yaml"), "rb") as f:
    quickstart = f.read()
put("FuzzConfig", "quickstart.yaml", quickstart)
put("FuzzConfig", "quickstart_overrides.yaml", quickstart + b"\0Global.epochs=3\0Arch.name=ResNet50"
    + b"\0DataLoader.Train.dataset.transform_ops.1.NormalizeImage.mean.0=0.5\0Loss.Train.-1={CELoss: {weight: 1}}")
put("FuzzConfig", "anchors.yaml", b"""Global: &g {epochs: 2, seed: 1, output_dir: ./out}
Arch: {name: MobileNetV3_small_x0_35, class_num: 4}
Loss:
  Train: [{CELoss: {weight: 1.0}}]
Optimizer:
  name: Momentum
  momentum: 0.9
  lr: {name: Piecewise, decay_epochs: [1], values: [0.1, 0.01]}
Extra: {<<: *g, 'quoted': "a\\tb", block: |
    text}
""")
put("FuzzConfig", "base.yaml", b"_BASE_: other.yaml\nGlobal:\n  epochs: !!int 3\n  device: cpu\n---\nx: 1\n\0New.key=[1, 2]")

# FuzzTorch: the torch-written test fixtures, whole (first byte odd) and as their data.pkl alone (first byte even:
# the fuzzer wraps it in a valid zip).
import zipfile
fixtures = os.path.join(here, "..", "Tests", "ClasHubTests", "Fixtures")
for name in ["state_dict.pth", "mixed.pt", "checkpoint.bin"]:
    raw = open(os.path.join(fixtures, name), "rb").read()
    put("FuzzTorch", name, b"\x01" + raw)
    with zipfile.ZipFile(os.path.join(fixtures, name)) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        put("FuzzTorch", name.split(".")[0] + "_pickle", b"\x00" + z.read(pkl))
