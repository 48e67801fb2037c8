"""Run a saved CoreML ML program on Linux, where CoreML itself cannot run: the program is read
back from the ``.mlpackage`` with coremltools, and its ops are computed one by one in float32
with numpy and TensorFlow, following the MIL op definitions. It knows only the ops that
training/coreml.py and coremltools' image preprocessing emit, and fails on any other.

This checks what the export can get wrong: weight layouts, transposes, paddings, the image
scaling, and the wiring of the layers.
"""
import numpy as np
import tensorflow as tf


def load_program(path):
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto.load import load

    mlmodel = ct.models.MLModel(str(path), skip_model_load=True)  # no CoreML runtime on Linux
    spec = mlmodel.get_spec()
    return mlmodel, load(spec, specification_version=spec.specificationVersion,
                         file_weights_dir=mlmodel.weights_dir).functions["main"]


def _nhwc(x):
    return tf.transpose(x, (0, 2, 3, 1))


def _nchw(x):
    return np.asarray(tf.transpose(x, (0, 3, 1, 2)))


def _pad(op):
    return op.pad_type.val.upper()


def _conv(op, x):
    weight = np.asarray(op.weight.val, np.float32)  # (out, in / groups, kh, kw)
    groups = int(op.groups.val)
    kernel = weight.transpose(2, 3, 1, 0)  # -> (kh, kw, in / groups, out)
    parts = np.split(x, groups, axis=1)
    kernels = np.split(kernel, groups, axis=3)
    y = np.concatenate([_nchw(tf.nn.conv2d(_nhwc(p), k, list(op.strides.val), _pad(op)))
                        for p, k in zip(parts, kernels)], axis=1)
    if op.bias is not None:
        y = y + np.asarray(op.bias.val, np.float32).reshape(1, -1, 1, 1)
    return y


def _lrn(op, x):
    """MIL: x / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels) ^ beta."""
    size = int(op.size.val)
    square = np.pad(x ** 2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    window = sum(square[:, i:i + x.shape[1]] for i in range(size))
    return x / (float(op.k.val) + float(op.alpha.val) / size * window) ** float(op.beta.val)


def _run(op, v, resolve):
    kind = op.op_type
    if kind == "conv":
        return _conv(op, v("x"))
    if kind == "max_pool":
        return _nchw(tf.nn.max_pool2d(_nhwc(v("x")), list(op.kernel_sizes.val), list(op.strides.val), _pad(op)))
    if kind == "local_response_norm":
        return _lrn(op, v("x"))
    if kind == "linear":
        return v("x") @ v("weight").T + v("bias")
    if kind == "batch_norm":
        shape = (1, -1, 1, 1)
        return ((v("x") - v("mean").reshape(shape)) / np.sqrt(v("variance").reshape(shape) + float(op.epsilon.val))
                * v("gamma").reshape(shape) + v("beta").reshape(shape))
    if kind == "pad":
        return np.pad(v("x"), np.asarray(op.pad.val).reshape(-1, 2))
    simple = {"relu": lambda: np.maximum(v("x"), 0), "sigmoid": lambda: 1 / (1 + np.exp(-v("x"))),
              "mul": lambda: v("x") * v("y"), "add": lambda: v("x") + v("y"),
              "cast": lambda: v("x"), "identity": lambda: v("x"),
              "transpose": lambda: v("x").transpose(op.perm.val),
              "reshape": lambda: v("x").reshape(op.shape.val),
              "reduce_mean": lambda: v("x").mean(axis=tuple(op.axes.val), keepdims=bool(op.keep_dims.val)),
              "concat": lambda: np.concatenate([resolve(x) for x in op.values], axis=int(op.axis.val))}
    if kind not in simple:
        raise NotImplementedError(f"mil_eval has no rule for the MIL op {kind}")
    return simple[kind]()


def run_program(function, image):
    """Evaluate ``function`` (from load_program) on ``image``, float32 NCHW; return its outputs."""
    values = {"image": np.asarray(image, np.float32)}

    def resolve(var):
        return values[var.name] if var.name in values else np.asarray(var.val, np.float32)

    for op in function.operations:
        if op.op_type != "const":
            result = _run(op, lambda name, op=op: resolve(op.inputs[name]), resolve)
            values[op.outputs[0].name] = np.asarray(result, np.float32)
    return {var.name: values[var.name] for var in function.outputs}
