"""The table of tiers: each ``MODEL_PRECISION`` written once, with its runtime, its files, how
they are converted and the grid of its maps.

core/runtimes.py loads a tier by its ``runtime``; training/runtimes.py converts it by the same
key; core/explain.py maps on its ``grid``; config.py accepts exactly these names. Measured
figures behind each choice: docs/performance.md.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    name: str
    runtime: str  # "openvino" | "litert" | "tensorflow": the loader and the converter to use
    files: tuple  # file names inside the bucket's runtime folder (core.runtimes.runtime_dir)
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
# the 7x7 stem alone caused 0.029 of int8's 0.036 max |diff| (training/runtimes.py).
FLOAT_UNTIL = {"resmem": "features_layer1_2_out"}

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
