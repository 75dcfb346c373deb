"""The public names of CuPy 14.2.0 (cupy-cuda12x), so that the CPU stand-in offers
exactly what CuPy offers and a NumPy-only call fails on the CPU as it would on a GPU.

Generated, not written: in an environment where ``pip install cupy-cuda12x`` succeeded (no GPU
is needed to import it), ``python benchmarks/cupy_api_gen.py > foveanet/backend/cupy_api.py``.
"""
VERSION = '14.2.0'

MODULE = frozenset({
    'AxisError', 'ComplexWarning', 'DataSource', 'ElementwiseKernel', 'Inf', 'Infinity',
    'ModuleDeprecationWarning', 'NAN', 'NINF', 'NZERO', 'NaN', 'PINF', 'PZERO', 'RankWarning',
    'RawKernel', 'RawModule', 'ReductionKernel', 'TooHardError', 'VisibleDeprecationWarning',
    'abs', 'absolute', 'acos', 'acosh', 'add', 'all', 'allclose', 'alltrue', 'amax', 'amin',
    'angle', 'annotations', 'any', 'append', 'apply_along_axis', 'apply_over_axes', 'arange',
    'arccos', 'arccosh', 'arcsin', 'arcsinh', 'arctan', 'arctan2', 'arctanh', 'argmax',
    'argmin', 'argpartition', 'argsort', 'argwhere', 'around', 'array', 'array2string',
    'array_equal', 'array_equiv', 'array_repr', 'array_split', 'array_str', 'asanyarray',
    'asarray', 'asarray_chkfinite', 'ascontiguousarray', 'asfarray', 'asfortranarray', 'asin',
    'asinh', 'asnumpy', 'astype', 'atan', 'atan2', 'atanh', 'atleast_1d', 'atleast_2d',
    'atleast_3d', 'average', 'bartlett', 'base_repr', 'binary_repr', 'bincount', 'bitwise_and',
    'bitwise_count', 'bitwise_invert', 'bitwise_left_shift', 'bitwise_not', 'bitwise_or',
    'bitwise_right_shift', 'bitwise_xor', 'blackman', 'bool', 'bool_', 'broadcast',
    'broadcast_arrays', 'broadcast_shapes', 'broadcast_to', 'byte', 'byte_bounds', 'c_',
    'can_cast', 'cbrt', 'cdouble', 'ceil', 'cfloat', 'choose', 'clear_memo', 'clip',
    'column_stack', 'common_type', 'complex128', 'complex64', 'complex_', 'complexfloating',
    'compress', 'concat', 'concatenate', 'conj', 'conjugate', 'convolve', 'copy', 'copysign',
    'copyto', 'corrcoef', 'correlate', 'cos', 'cosh', 'count_nonzero', 'cov', 'cross',
    'csingle', 'cuda', 'cumprod', 'cumproduct', 'cumsum', 'cumulative_prod', 'cumulative_sum',
    'deg2rad', 'degrees', 'delete', 'diag', 'diag_indices', 'diag_indices_from', 'diagflat',
    'diagonal', 'diff', 'digitize', 'disable_experimental_feature_warning', 'disp', 'divide',
    'divmod', 'dot', 'double', 'dsplit', 'dstack', 'dtype', 'e', 'ediff1d', 'einsum', 'empty',
    'empty_like', 'equal', 'euler_gamma', 'exceptions', 'exp', 'exp2', 'expand_dims', 'expm1',
    'extract', 'eye', 'fabs', 'fft', 'fill_diagonal', 'find_common_type', 'finfo', 'fix',
    'flatiter', 'flatnonzero', 'flip', 'fliplr', 'flipud', 'float16', 'float32', 'float64',
    'float_', 'float_power', 'floating', 'floor', 'floor_divide', 'fmax', 'fmin', 'fmod',
    'format_float_positional', 'format_float_scientific', 'format_parser', 'frexp',
    'fromDlpack', 'from_dlpack', 'frombuffer', 'fromfile', 'fromfunction', 'fromiter',
    'fromstring', 'full', 'full_like', 'fuse', 'gcd', 'generic', 'genfromtxt',
    'get_array_module', 'get_array_wrap', 'get_default_memory_pool',
    'get_default_pinned_memory_pool', 'get_printoptions', 'gradient', 'greater',
    'greater_equal', 'half', 'hamming', 'hanning', 'heaviside', 'histogram', 'histogram2d',
    'histogramdd', 'hsplit', 'hstack', 'hypot', 'i0', 'identity', 'iinfo', 'imag', 'in1d',
    'index_exp', 'indices', 'inexact', 'inf', 'infty', 'inner', 'int16', 'int32', 'int64',
    'int8', 'int_', 'intc', 'integer', 'interp', 'intersect1d', 'intp', 'invert',
    'is_available', 'isclose', 'iscomplex', 'iscomplexobj', 'isdtype', 'isfinite', 'isfortran',
    'isin', 'isinf', 'isnan', 'isneginf', 'isposinf', 'isreal', 'isrealobj', 'isscalar',
    'issctype', 'issubclass_', 'issubdtype', 'issubsctype', 'iterable', 'ix_', 'kaiser',
    'kron', 'lcm', 'ldexp', 'left_shift', 'less', 'less_equal', 'lexsort', 'lib', 'linalg',
    'linspace', 'load', 'loadtxt', 'log', 'log10', 'log1p', 'log2', 'logaddexp', 'logaddexp2',
    'logical_and', 'logical_not', 'logical_or', 'logical_xor', 'logspace', 'long', 'longlong',
    'make_aligned_dtype', 'mask_indices', 'matmul', 'matrix_transpose', 'max', 'maximum',
    'may_share_memory', 'mean', 'median', 'memoize', 'meshgrid', 'mgrid', 'min',
    'min_scalar_type', 'minimum', 'mintypecode', 'mod', 'modf', 'moveaxis', 'msort',
    'multiply', 'nan', 'nan_to_num', 'nanargmax', 'nanargmin', 'nancumprod', 'nancumsum',
    'nanmax', 'nanmean', 'nanmedian', 'nanmin', 'nanprod', 'nanstd', 'nansum', 'nanvar',
    'ndarray', 'ndim', 'ndindex', 'negative', 'newaxis', 'nextafter', 'nonzero', 'not_equal',
    'number', 'obj2sctype', 'ogrid', 'ones', 'ones_like', 'outer', 'packbits', 'pad',
    'partition', 'percentile', 'permute_dims', 'pi', 'piecewise', 'place', 'poly', 'poly1d',
    'polyadd', 'polyfit', 'polymul', 'polynomial', 'polysub', 'polyval', 'positive', 'pow',
    'power', 'printoptions', 'prod', 'product', 'promote_types', 'ptp', 'put',
    'put_along_axis', 'putmask', 'quantile', 'r_', 'rad2deg', 'radians', 'random', 'ravel',
    'ravel_multi_index', 'real', 'real_if_close', 'reciprocal', 'remainder', 'repeat',
    'require', 'reshape', 'resize', 'result_type', 'right_shift', 'rint', 'roll', 'rollaxis',
    'roots', 'rot90', 'round', 'round_', 'row_stack', 's_', 'safe_eval', 'save', 'savetxt',
    'savez', 'savez_compressed', 'sctype2char', 'searchsorted', 'select', 'set_printoptions',
    'set_string_function', 'setdiff1d', 'setxor1d', 'shape', 'shares_memory', 'short',
    'show_config', 'sign', 'signbit', 'signedinteger', 'sin', 'sinc', 'single',
    'singlecomplex', 'sinh', 'size', 'sometrue', 'sort', 'sort_complex', 'split', 'sqrt',
    'square', 'squeeze', 'stack', 'std', 'subtract', 'sum', 'swapaxes', 'take',
    'take_along_axis', 'tan', 'tanh', 'tensordot', 'testing', 'tile', 'trace', 'transpose',
    'trapezoid', 'trapz', 'tri', 'tril', 'tril_indices', 'tril_indices_from', 'trim_zeros',
    'triu', 'triu_indices', 'triu_indices_from', 'true_divide', 'trunc', 'typename', 'typing',
    'ubyte', 'ufunc', 'uint', 'uint16', 'uint32', 'uint64', 'uint8', 'uintc', 'uintp', 'ulong',
    'ulonglong', 'union1d', 'unique', 'unique_all', 'unique_counts', 'unique_inverse',
    'unique_values', 'unpackbits', 'unravel_index', 'unsignedinteger', 'unwrap', 'ushort',
    'vander', 'var', 'vdot', 'vectorize', 'vsplit', 'vstack', 'where', 'who', 'zeros',
    'zeros_like',
})

RANDOM = frozenset({
    'BitGenerator', 'MRG32k3a', 'Philox4x3210', 'RandomState', 'XORWOW', 'annotations', 'beta',
    'binomial', 'bytes', 'chisquare', 'choice', 'default_rng', 'dirichlet', 'exponential', 'f',
    'gamma', 'geometric', 'get_random_state', 'gumbel', 'hypergeometric', 'laplace',
    'logistic', 'lognormal', 'logseries', 'multinomial', 'multivariate_normal',
    'negative_binomial', 'noncentral_chisquare', 'noncentral_f', 'normal', 'pareto',
    'permutation', 'poisson', 'power', 'rand', 'randint', 'randn', 'random', 'random_integers',
    'random_sample', 'ranf', 'rayleigh', 'reset_states', 'sample', 'seed', 'set_random_state',
    'shuffle', 'standard_cauchy', 'standard_exponential', 'standard_gamma', 'standard_normal',
    'standard_t', 'triangular', 'uniform', 'vonmises', 'wald', 'weibull', 'zipf',
})

GENERATOR = frozenset({
    'beta', 'binomial', 'chisquare', 'dirichlet', 'exponential', 'f', 'gamma', 'geometric',
    'hypergeometric', 'integers', 'logseries', 'poisson', 'power', 'random',
    'standard_exponential', 'standard_gamma', 'standard_normal', 'uniform',
})

LINALG = frozenset({
    'LinAlgError', 'annotations', 'cholesky', 'cond', 'cross', 'det', 'eig', 'eigh', 'eigvals',
    'eigvalsh', 'inv', 'lstsq', 'matmul', 'matrix_power', 'matrix_rank', 'matrix_transpose',
    'norm', 'pinv', 'qr', 'slogdet', 'solve', 'svd', 'tensorinv', 'tensorsolve',
})

FFT = frozenset({
    'config', 'fft', 'fft2', 'fftfreq', 'fftn', 'fftshift', 'hfft', 'ifft', 'ifft2', 'ifftn',
    'ifftshift', 'ihfft', 'irfft', 'irfft2', 'irfftn', 'rfft', 'rfft2', 'rfftfreq', 'rfftn',
})

STRIDE_TRICKS = frozenset({
    'annotations', 'as_strided', 'np', 'sliding_window_view',
})

NDARRAY = frozenset({
    'T', 'all', 'any', 'argmax', 'argmin', 'argpartition', 'argsort', 'astype', 'base',
    'byteswap', 'choose', 'clip', 'compress', 'conj', 'conjugate', 'copy', 'cstruct',
    'cumprod', 'cumsum', 'data', 'device', 'diagonal', 'dot', 'dtype', 'dump', 'dumps', 'fill',
    'flags', 'flat', 'flatten', 'get', 'imag', 'item', 'itemsize', 'mT', 'max', 'mdspan',
    'mean', 'min', 'nbytes', 'ndim', 'nonzero', 'partition', 'prod', 'ptp', 'put', 'ravel',
    'real', 'reduced_view', 'repeat', 'reshape', 'round', 'scatter_add', 'scatter_max',
    'scatter_min', 'searchsorted', 'set', 'shape', 'size', 'sort', 'squeeze', 'std', 'strides',
    'sum', 'swapaxes', 'take', 'toDlpack', 'tobytes', 'tofile', 'tolist', 'trace', 'transpose',
    'var', 'view',
})

NDARRAY_DUNDERS = frozenset({
    '__abs__', '__add__', '__and__', '__array__', '__array_finalize__', '__array_function__',
    '__array_priority__', '__array_ufunc__', '__bool__', '__bytes__', '__class__',
    '__class_getitem__', '__complex__', '__copy__', '__cuda_array_interface__', '__deepcopy__',
    '__delattr__', '__delitem__', '__dir__', '__div__', '__divmod__', '__dlpack__',
    '__dlpack_device__', '__doc__', '__eq__', '__float__', '__floordiv__', '__format__',
    '__ge__', '__getattribute__', '__getitem__', '__getstate__', '__gt__', '__hash__',
    '__hex__', '__iadd__', '__iand__', '__idiv__', '__ifloordiv__', '__ilshift__', '__imod__',
    '__imul__', '__init__', '__init_subclass__', '__int__', '__invert__', '__ior__',
    '__ipow__', '__irshift__', '__isub__', '__iter__', '__itruediv__', '__ixor__', '__le__',
    '__len__', '__lshift__', '__lt__', '__matmul__', '__mod__', '__module__', '__mul__',
    '__ne__', '__neg__', '__new__', '__oct__', '__or__', '__pos__', '__pow__',
    '__pyx_vtable__', '__radd__', '__rand__', '__rdivmod__', '__reduce__', '__reduce_ex__',
    '__repr__', '__rfloordiv__', '__rlshift__', '__rmatmul__', '__rmod__', '__rmul__',
    '__ror__', '__rpow__', '__rrshift__', '__rshift__', '__rsub__', '__rtruediv__', '__rxor__',
    '__setattr__', '__setitem__', '__sizeof__', '__slots__', '__str__', '__sub__',
    '__subclasshook__', '__truediv__', '__xor__',
})

UFUNC_METHODS = frozenset({
    'reduce', 'accumulate', 'reduceat', 'outer', 'at',
})

CUPYX = frozenset({
    'DeviceSynchronized', 'GeneralizedUFunc', 'allow_synchronize', 'annotations',
    'empty_like_pinned', 'empty_pinned', 'errstate', 'get_runtime_info', 'geterr', 'linalg',
    'optimizing', 'profiler', 'rsqrt', 'scatter_add', 'scatter_max', 'scatter_min', 'scipy',
    'seterr', 'time', 'zeros_like_pinned', 'zeros_pinned',
})

SPECIAL = frozenset({
    'annotations', 'bdtr', 'bdtrc', 'bdtri', 'beta', 'betainc', 'betaincinv', 'betaln',
    'binom', 'boxcox', 'boxcox1p', 'btdtr', 'btdtri', 'cbrt', 'chdtr', 'chdtrc', 'chdtri',
    'cosdg', 'cosm1', 'cotdg', 'digamma', 'ellipeinc', 'ellipj', 'ellipk', 'ellipkinc',
    'ellipkm1', 'entr', 'erf', 'erfc', 'erfcinv', 'erfcx', 'erfinv', 'exp1', 'exp10', 'exp2',
    'expi', 'expit', 'expm1', 'expn', 'exprel', 'fdtr', 'fdtrc', 'fdtri', 'gamma', 'gammainc',
    'gammaincc', 'gammainccinv', 'gammaincinv', 'gammaln', 'gammasgn', 'gdtr', 'gdtrc',
    'huber', 'i0', 'i0e', 'i1', 'i1e', 'inv_boxcox', 'inv_boxcox1p', 'j0', 'j1', 'k0', 'k0e',
    'k1', 'k1e', 'kl_div', 'lambertw', 'log1p', 'log_expit', 'log_ndtr', 'log_softmax',
    'loggamma', 'logit', 'logsumexp', 'lpmv', 'multigammaln', 'nbdtr', 'nbdtrc', 'nbdtri',
    'ndtr', 'ndtri', 'pdtr', 'pdtrc', 'pdtri', 'poch', 'polygamma', 'pseudo_huber', 'psi',
    'radian', 'rel_entr', 'rgamma', 'round', 'shichi', 'sici', 'sinc', 'sindg', 'softmax',
    'sph_harm', 'sph_harm_y', 'spherical_yn', 'tandg', 'wright_bessel', 'xlog1py', 'xlogy',
    'y0', 'y1', 'yn', 'zeta', 'zetac',
})
