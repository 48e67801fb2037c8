"""Convert a bucket's Keras network into a CoreML ML program (``.mlpackage``) with coremltools.

coremltools' TensorFlow frontend (tested up to TF 2.12) cannot read Keras 3's graphs: a grouped
convolution becomes a nested ``StatefulPartitionedCall`` it does not convert. So the network is
written with coremltools' own MIL builder instead, layer by layer, from the few Keras layer
kinds that core/model/networks.py uses. Every other kind stops the export with its name.

The input is an RGB image of the crop size; CoreML applies the bucket's scale and mean to its
pixels, so a CoreML user resizes to ``preprocessing.resize`` and centre-crops, as the JSON in
the model's metadata says, and the output ``memorability`` is the service's score. A bucket
chosen with the mirror average ("tta": "mirror") says so in the metadata and the output's
description: the app averages the scores of the photo and of its mirror image.
"""
import json

import numpy as np

from core.model.bucket import TTA

OUTPUT = "memorability"


def _activation(mb, x, layer):
    name = getattr(layer.activation, "__name__", "linear")
    if name == "relu":
        return mb.relu(x=x)
    if name == "sigmoid":
        return mb.sigmoid(x=x)
    if name != "linear":
        raise ValueError(f"{layer.name}: no CoreML rule for activation {name}")
    return x


def _layer(mb, layer, inputs):
    """One Keras layer as MIL ops on NCHW tensors (NC for the dense layers)."""
    kind = type(layer).__name__
    x = inputs[0]
    if kind in ("Dropout", "InputLayer"):
        return x
    if kind == "Conv2D":
        kernel, *bias = layer.get_weights()
        y = mb.conv(x=x, weight=kernel.transpose(3, 2, 0, 1), bias=bias[0] if bias else None,
                    strides=list(layer.strides), pad_type=layer.padding, groups=layer.groups)
        return _activation(mb, y, layer)
    if kind == "MaxPooling2D":
        return mb.max_pool(x=x, kernel_sizes=list(layer.pool_size), strides=list(layer.strides),
                           pad_type=layer.padding)
    if kind == "LocalResponseNorm":  # CoreML's LRN divides alpha by the size, as torch does
        return mb.local_response_norm(x=x, size=layer.size, alpha=layer.alpha, beta=layer.beta,
                                      k=layer.bias)
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = layer.padding
        return mb.pad(x=x, pad=np.array([0, 0, 0, 0, top, bottom, left, right], np.int32))
    if kind == "BatchNormalization":
        gamma, beta, mean, variance = layer.get_weights()
        return mb.batch_norm(x=x, mean=mean, variance=variance, gamma=gamma, beta=beta,
                             epsilon=layer.epsilon)
    if kind == "ReLU":
        return mb.relu(x=x)
    if kind == "Add":
        return mb.add(x=inputs[0], y=inputs[1])
    if kind == "GlobalAveragePooling2D":
        return mb.reduce_mean(x=x, axes=[2, 3], keep_dims=False)
    if kind == "Flatten":  # Keras flattens H, W, C: go back to NHWC first
        return mb.reshape(x=mb.transpose(x=x, perm=[0, 2, 3, 1]), shape=[1, -1])
    if kind == "Concatenate":
        return mb.concat(values=inputs, axis=-1)
    if kind == "Dense":
        kernel, bias = layer.get_weights()
        return _activation(mb, mb.linear(x=x, weight=kernel.T, bias=bias), layer)
    raise ValueError(f"no CoreML rule for the {kind} layer {layer.name}")


def mil_program(model, size):
    """The MIL program of a Keras functional ``model``: image (1, 3, size, size) -> memorability."""
    import coremltools as ct
    import keras
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, size, size))], opset_version=ct.target.iOS16)
    def program(image):
        values = {}
        for layer in model.layers:  # in graph order; each layer is called once (core/model/networks.py)
            if isinstance(layer, keras.layers.InputLayer):
                inputs = [image]
            else:  # layer.input: the public view of the tensors it was called on
                inputs = [values[id(t)] for t in keras.tree.flatten(layer.input)]
            values[id(layer.output)] = _layer(mb, layer, inputs)
        return mb.identity(x=values[id(model.outputs[0])], name=OUTPUT)

    return program


def convert(bucket, model, precision="float16"):
    """A CoreML model of ``model`` (loaded from ``bucket``), its image input scaled as preprocessing says."""
    import coremltools as ct

    spec = bucket.preprocessing
    if len(set(spec.std)) != 1:
        raise ValueError("CoreML scales all three channels alike: a per-channel std cannot be exported")
    scale = spec.scale / spec.std[0]
    mlmodel = ct.convert(
        mil_program(model, spec.crop), convert_to="mlprogram",
        inputs=[ct.ImageType(name="image", shape=(1, 3, spec.crop, spec.crop), scale=scale,
                             bias=[-m / spec.std[0] for m in spec.mean],
                             color_layout=ct.colorlayout.RGB)],
        outputs=[ct.TensorType(name=OUTPUT)],
        compute_precision={"float16": ct.precision.FLOAT16, "float32": ct.precision.FLOAT32}[precision],
        minimum_deployment_target=ct.target.iOS16)
    meta = bucket.metadata
    mlmodel.short_description = meta["description"]
    mlmodel.author = meta["source"]
    mlmodel.license = meta["license"]
    mlmodel.version = bucket.weights_md5
    mlmodel.input_description["image"] = (
        f"RGB photo, resized to {spec.resize[0]}x{spec.resize[1]} ({spec.interpolation}, ignoring "
        f"the aspect ratio) and centre-cropped to {spec.crop}x{spec.crop}")
    mlmodel.output_description[OUTPUT] = "memorability on LaMem's 0..1 scale" + (
        # Core ML has no test-time augmentation: the app averages the two passes, as the bucket was chosen
        ": average it with the score of the photo mirrored left-right (tta: mirror)" if bucket.mirrored else "")
    mlmodel.user_defined_metadata.update({
        "id": meta["id"], "architecture": bucket.architecture, "precision": precision,
        "preprocessing": json.dumps(bucket.facts["preprocessing"], sort_keys=True),
        **({"tta": TTA} if bucket.mirrored else {})})
    return mlmodel
