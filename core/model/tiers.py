"""The table of tiers: each ``MODEL_PRECISION`` written once, with its runtime, its files, how
they are converted and the grid of its maps.

core/model/runtimes.py loads a tier by its ``runtime``; training/runtimes.py converts it by the same
key; core/analyses/explain.py maps on its ``grid``; config.PRECISIONS lists exactly these names. Measured
figures behind each choice: docs/performance.md.
"""
from dataclasses import dataclass

from config import PRECISIONS


@dataclass(frozen=True)
class Tier:
    name: str
    runtime: str  # "openvino" | "litert" | "tensorflow": the loader and the converter to use
    files: tuple  # file names inside the bucket's runtime folder (core.model.runtimes.runtime_dir)
    grid: int  # occlusion grid of its maps: a faster runtime affords a finer one in the same time
    served: bool  # converted ahead by `make weights` and the image's build stage
    inference_precision: str = "f32"  # OpenVINO's INFERENCE_PRECISION_HINT
    quantise: bool = False  # LiteRT dynamic-range int8 (no dataset)
    doc: str = ""

    def files_for(self, architecture):
        """The tier's files for a bucket of ``architecture``: lite-int8 splits ResMem in two."""
        if self.quantise and architecture in FLOAT_UNTIL:
            return tuple(name.replace(".tflite", f"-{part}.tflite") for name in self.files
                         for part in ("front", "rest"))
        return self.files


# Per architecture, the layer up to which a quantised tier keeps the network in float: on ResMem
# the 7x7 stem alone caused 0.029 of int8's 0.036 max |diff| (training/runtimes.py). The stem and
# layer1 stay in float: ResMem's layer1 ends with its block 2, a smaller ResMem's where its
# ``resnet_blocks`` option says.
FLOAT_UNTIL = {"resmem": "features_layer1_{last}_out"}


def float_until(architecture, options=None):
    """The name of the last float layer of a quantised tier's network, or None."""
    name = FLOAT_UNTIL.get(architecture)
    blocks = (options or {}).get("resnet_blocks", (3,))
    return name.format(last=blocks[0] - 1) if name else None

TIERS = {tier.name: tier for tier in (
    Tier("fp32", "openvino", ("openvino.xml", "openvino.bin"), grid=2, served=True,
         doc="OpenVINO f32: exact (within 1e-6 of the original) and the fastest exact runtime here"),
    Tier("bf16", "openvino", ("openvino.xml", "openvino.bin"), grid=2, served=True,
         inference_precision="bf16", doc="OpenVINO on the fp32 files, computing in bf16 (AVX-512 BF16)"),
    Tier("lite-int8", "litert", ("lite-int8.tflite",), grid=3, served=True, quantise=True,
         doc="LiteRT + XNNPACK, dynamic-range int8 with ResMem's stem and layer1 in float: the fast tier"),
    Tier("lite-fp32", "litert", ("lite-fp32.tflite",), grid=2, served=False,
         doc="LiteRT + XNNPACK fp32: exact, slower than OpenVINO here; kept to compare"),
    Tier("tf-fp32", "tensorflow", (), grid=2, served=False,
         doc="TensorFlow tf.function on the Keras weights: exact, the old default; needs TensorFlow"),
)}
if tuple(TIERS) != PRECISIONS:  # config.py lists the names a setting accepts; each needs its tier here
    raise ImportError(f"core/model/tiers.py has tiers {tuple(TIERS)}, config.PRECISIONS {PRECISIONS}")
