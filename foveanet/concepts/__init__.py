"""The lecture as functions: sizes, parameter counts, receptive fields, FC vs conv, shifts, summaries.

    from foveanet import concepts as C
    C.conv_output_size(39, 3)                 # 37
    C.conv_params_formula(5, 1, 6)            # '(5*5*1+1)*6 = 156'
    C.fc_vs_conv((32, 32, 3), conv=(5, 6))    # 14,450,688 FC weights vs 456
    C.receptive_field(model, (3, 224, 224))   # r, jump, start per layer
    C.summary(model, (3, 224, 224))           # the layer table
"""
from foveanet.concepts.fc_vs_conv import FCvsConv, fc_vs_conv
from foveanet.concepts.formulas import (
    Stage, conv_mult_adds, conv_output_size, conv_params, conv_params_formula, effective_kernel,
    example_network, fc_mult_adds, fc_params, fc_params_formula, pool_output_size, same_padding,
)
from foveanet.concepts.receptive_field import ReceptiveField, RFRow, receptive_field
from foveanet.concepts.shift import ShiftResult, shift_experiment, shift_image
from foveanet.concepts.summary import ModelSummary, SummaryRow, summary

__all__ = [
    "conv_output_size", "same_padding", "pool_output_size", "conv_params", "conv_params_formula",
    "fc_params", "fc_params_formula", "conv_mult_adds", "fc_mult_adds", "effective_kernel",
    "Stage", "example_network", "receptive_field", "ReceptiveField", "RFRow", "fc_vs_conv",
    "FCvsConv", "shift_experiment", "shift_image", "ShiftResult", "summary", "ModelSummary",
    "SummaryRow",
]
