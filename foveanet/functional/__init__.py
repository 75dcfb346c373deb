"""Operations of a CNN, one file per family; re-exported as ``foveanet.nn.functional``.

Every op here has a forward and a hand-written backward with the formulas in its docstring,
and accepts Tensors or NumPy arrays.
"""
from foveanet.functional.linear import (  # noqa: F401
    linear,
)
from foveanet.functional.activation import (  # noqa: F401
    elu, gelu, hardtanh, leaky_relu, log_softmax, relu, relu6, sigmoid, silu, softmax,
    softplus, tanh,
)
from foveanet.functional.activation import hardsigmoid, hardswish  # noqa: F401
from foveanet.functional.conv import (  # noqa: F401
    conv1d, conv2d, conv_transpose1d, conv_transpose2d,
)
from foveanet.functional.pooling import (  # noqa: F401
    avg_pool1d, avg_pool2d, max_pool1d, max_pool2d,
)
from foveanet.functional.adaptive_pooling import (  # noqa: F401
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d,
)
from foveanet.functional.normalization import (  # noqa: F401
    batch_norm, group_norm, layer_norm,
)
from foveanet.functional.dropout import (  # noqa: F401
    dropout, dropout1d, dropout2d, dropout3d,
)
from foveanet.functional.loss import (  # noqa: F401
    cross_entropy, nll_loss,
)
from foveanet.functional.loss_regression import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits, l1_loss, mse_loss, smooth_l1_loss,
)
from foveanet.functional.metric_loss import (  # noqa: F401
    arc_margin, batch_hard_triplet_loss, contrastive_loss, normalize, triplet_margin_loss,
)
from foveanet.functional.sparse import (  # noqa: F401
    embedding,
)
from foveanet.functional.shape import (  # noqa: F401
    interpolate, pad,
)
from foveanet.functional.ctc import (  # noqa: F401
    ctc_loss,
)

__all__ = [
    "linear", "elu", "gelu", "hardtanh", "leaky_relu", "log_softmax", "relu", "relu6",
    "sigmoid", "silu", "softmax", "softplus", "tanh", "conv1d", "conv2d", "conv_transpose1d",
    "conv_transpose2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d", "batch_norm",
    "group_norm", "layer_norm", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "l1_loss",
    "mse_loss", "nll_loss", "smooth_l1_loss", "embedding", "interpolate", "pad",
    "hardsigmoid", "hardswish",
    "arc_margin", "batch_hard_triplet_loss", "contrastive_loss", "normalize", "triplet_margin_loss",
    "ctc_loss",
]

# every op visible to a tracer (foveanet.autograd.tracing: ONNX export), under its name here
from foveanet.autograd.tracing import traceable as _traceable  # noqa: E402

for _name in __all__:
    globals()[_name] = _traceable(globals()[_name])
del _name
